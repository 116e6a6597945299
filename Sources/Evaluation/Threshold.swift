/// A minimum or maximum a report must meet, for CI of lexicon repositories.
///
/// `--min-recall 0.9` applies to every category whose recall is defined **and** to the
/// overall (micro) figure; `--min-recall finance-marketing=0.95` to one category only (which
/// fails when the corpus gives no figure for it). A failed threshold makes `menshen eval` exit 2.
public struct Threshold: Sendable, Equatable, Codable {
    public enum Metric: String, Sendable, Codable {
        case minRecall = "min-recall"
        case minPrecision = "min-precision"
        case maxFalsePositiveRate = "max-false-positive-rate"
        /// No case may regress against the baseline (`--fail-on-regression`); `value` is ignored.
        case noRegressions = "no-regressions"

        func value(_ c: Confusion) -> Double? {
            switch self {
            case .minRecall: return c.recall
            case .minPrecision: return c.precision
            case .maxFalsePositiveRate: return c.falsePositiveRate
            case .noRegressions: return nil
            }
        }
        func holds(_ actual: Double, _ bound: Double) -> Bool {
            // A little slack so that 0.9 written on the command line accepts 9/10 computed.
            switch self {
            case .minRecall, .minPrecision: return actual >= bound - 1e-12
            case .maxFalsePositiveRate, .noRegressions: return actual <= bound + 1e-12
            }
        }
    }
    public let metric: Metric
    /// `nil`: every category and the overall figure.
    public let category: String?
    public let value: Double

    public init(metric: Metric, category: String? = nil, value: Double) {
        self.metric = metric
        self.category = category
        self.value = value
    }

    /// Parses `0.9`, `90%` or `CATEGORY=0.9`; nil if malformed or outside 0…1.
    public init?(metric: Metric, argument: String) {
        if metric == .noRegressions { return nil }
        var category: String?
        var number = Substring(argument)
        if let eq = argument.lastIndex(of: "=") {
            category = String(argument[..<eq])
            number = argument[argument.index(after: eq)...]
            if category!.isEmpty { return nil }
        }
        var scale = 1.0
        if number.hasSuffix("%") { number = number.dropLast(); scale = 100 }
        guard let v = Double(number), v >= 0, v / scale <= 1 else { return nil }
        self.init(metric: metric, category: category, value: v / scale)
    }

    /// The checks this threshold makes on `report`.
    func check(_ report: EvaluationReport) -> [ThresholdResult] {
        if metric == .noRegressions {
            // Without a baseline there is nothing to compare: that is a failure, not a pass.
            let regressed = report.baseline.map { Double($0.regressedCount) }
            return [ThresholdResult(metric: metric, scope: "baseline", bound: 0, actual: regressed, passed: regressed == 0)]
        }
        if let category {
            let actual = report.categories.first { $0.category == category }.flatMap { metric.value($0.confusion) }
            return [ThresholdResult(metric: metric, scope: category, bound: value, actual: actual,
                                    passed: actual.map { metric.holds($0, value) } ?? false)]
        }
        var results: [ThresholdResult] = []
        for c in report.categories {
            guard let actual = metric.value(c.confusion) else { continue }
            results.append(ThresholdResult(metric: metric, scope: c.category, bound: value, actual: actual, passed: metric.holds(actual, value)))
        }
        if let actual = metric.value(report.overall.micro) {
            results.append(ThresholdResult(metric: metric, scope: "overall", bound: value, actual: actual, passed: metric.holds(actual, value)))
        }
        return results
    }
}

/// One threshold check and its outcome.
public struct ThresholdResult: Sendable, Codable, Equatable {
    public let metric: Threshold.Metric
    /// A category or `overall`.
    public let scope: String
    public let bound: Double
    /// `nil` when the corpus gives no figure (a named category with no data: fails).
    public let actual: Double?
    public let passed: Bool
}
