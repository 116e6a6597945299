import Metrics

// No Foundation here: its `Timer` would shadow swift-metrics' one.

/// `menshen_hook_calls_total{hook,result}`, `menshen_hook_failures_total{hook,kind}`,
/// `menshen_hook_duration_seconds{hook}` (requests actually sent).
struct HookMetrics: Sendable {
    enum CallResult: String, CaseIterable { case ok, cached, failure }

    let calls: [CallResult: Counter]
    let failures: [HookFailure.Kind: Counter]
    let duration: Timer

    init(hook: String, factory: any MetricsFactory) {
        calls = Dictionary(uniqueKeysWithValues: CallResult.allCases.map {
            ($0, Counter(label: "menshen_hook_calls_total", dimensions: [("hook", hook), ("result", $0.rawValue)], factory: factory))
        })
        failures = Dictionary(uniqueKeysWithValues: HookFailure.Kind.allCases.map {
            ($0, Counter(label: "menshen_hook_failures_total", dimensions: [("hook", hook), ("kind", $0.rawValue)], factory: factory))
        })
        duration = Timer(label: "menshen_hook_duration_seconds", dimensions: [("hook", hook)], factory: factory)
    }
}
