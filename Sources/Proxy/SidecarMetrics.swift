import CoreMetrics
import Foundation
import Metrics
import Prometheus

/// The sidecar's metrics, served at `/metrics` on the admin listener. Each sidecar has its own
/// registry (tests run several in one process); `menshen serve` also bootstraps the global
/// metrics system with it, so library metrics (hooks) land in the same place.
public final class SidecarMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        // Buckets sized for a sidecar: most screening is far below a millisecond.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
        ]
        factory.defaultValueHistogramBuckets = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384]
        self.factory = factory
        // Counters alerts use with increase() exist from the start at 0, so the first error counts.
        Counter(label: "menshen_audit_write_errors_total", factory: factory).increment(by: 0)
        for outcome in ["applied", "unchanged", "rejected"] {
            Counter(label: "menshen_reloads_total", dimensions: [("outcome", outcome)], factory: factory).increment(by: 0)
        }
    }

    /// `menshen_requests_total{route,status}`
    func request(route: String, status: Int) {
        Counter(label: "menshen_requests_total", dimensions: [("route", route), ("status", String(status))], factory: factory).increment()
    }

    /// `menshen_decisions_total{direction,action,category,rule}`: one per match that fired.
    func decision(direction: String, action: String, category: String, rule: String) {
        Counter(label: "menshen_decisions_total", dimensions: [("direction", direction), ("action", action), ("category", category), ("rule", rule)],
                factory: factory).increment()
    }

    /// `menshen_scan_seconds{direction}`: lexicon screening time of one text.
    func scanTime(direction: String, _ duration: Duration) {
        Metrics.Timer(label: "menshen_scan_seconds", dimensions: [("direction", direction)], factory: factory).recordNanoseconds(duration.nanoseconds)
    }

    /// `menshen_upstream_seconds{route}`: until the upstream's response head.
    func upstreamTime(route: String, _ duration: Duration) {
        Metrics.Timer(label: "menshen_upstream_seconds", dimensions: [("route", route)], factory: factory).recordNanoseconds(duration.nanoseconds)
    }

    /// `menshen_stream_first_token_seconds`: from the request's arrival to the first delivered content.
    func timeToFirstDeliveredToken(_ duration: Duration) {
        Metrics.Timer(label: "menshen_stream_first_token_seconds", factory: factory).recordNanoseconds(duration.nanoseconds)
    }

    /// `menshen_stream_holdback_bytes`: bytes held back after each upstream event.
    func holdBack(bytes: Int) {
        Recorder(label: "menshen_stream_holdback_bytes", factory: factory).record(bytes)
    }

    /// `menshen_upstream_requests_total{upstream,trust}`: where requests were routed.
    func upstreamRequest(upstream: String, trust: String) {
        Counter(label: "menshen_upstream_requests_total", dimensions: [("upstream", upstream), ("trust", trust)], factory: factory).increment()
    }

    /// `menshen_desensitized_values_total{upstream,type}`: values replaced by placeholders (counts, never values).
    func desensitized(upstream: String, type: String, count: Int) {
        Counter(label: "menshen_desensitized_values_total", dimensions: [("upstream", upstream), ("type", type)], factory: factory).increment(by: count)
    }

    /// `menshen_audit_events_total{action}`: audit events written (shadow counted on its own).
    func auditEvent(action: String) {
        Counter(label: "menshen_audit_events_total", dimensions: [("action", action)], factory: factory).increment()
    }

    /// `menshen_audit_write_errors_total`
    func auditWriteError() {
        Counter(label: "menshen_audit_write_errors_total", factory: factory).increment()
    }

    /// Audit log gauges, refreshed at each scrape: `menshen_audit_queue_depth` (events accepted
    /// but not yet written), `menshen_audit_events_lost_total`, `menshen_audit_queue_waits_total`.
    func auditLog(accepted: Int, written: Int, lost: Int, queueWaits: Int) {
        Gauge(label: "menshen_audit_queue_depth", factory: factory).record(max(0, accepted - written - lost))
        Gauge(label: "menshen_audit_events_lost", factory: factory).record(lost)
        Gauge(label: "menshen_audit_queue_waits", factory: factory).record(queueWaits)
    }

    /// `menshen_lexicon_info{version} 1` — the served lexicon version.
    func lexiconVersion(_ version: String, previous: String?) {
        if let previous, previous != version {
            Gauge(label: "menshen_lexicon_info", dimensions: [("version", previous)], factory: factory).record(0)
        }
        Gauge(label: "menshen_lexicon_info", dimensions: [("version", version)], factory: factory).record(1)
    }

    /// `menshen_reloads_total{outcome}`: applied, unchanged, rejected.
    func reload(outcome: String) {
        Counter(label: "menshen_reloads_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    /// The Prometheus text exposition of everything recorded.
    func exposition() -> [UInt8] { registry.emitToBuffer() }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, a) = components
        return s * 1_000_000_000 + a / 1_000_000_000
    }
}
