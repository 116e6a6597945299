/// Counts of a binary classification and the ratios derived from them. A ratio whose
/// denominator is zero is `nil` ("—" in Markdown, `null` in JSON), never 0 or 1.
public struct Confusion: Sendable, Equatable, Codable {
    public var truePositives = 0
    public var falsePositives = 0
    public var falseNegatives = 0
    public var trueNegatives = 0

    public init(truePositives: Int = 0, falsePositives: Int = 0, falseNegatives: Int = 0, trueNegatives: Int = 0) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
        self.trueNegatives = trueNegatives
    }

    /// Adds one observation.
    public mutating func add(expected: Bool, predicted: Bool) {
        switch (expected, predicted) {
        case (true, true): truePositives += 1
        case (false, true): falsePositives += 1
        case (true, false): falseNegatives += 1
        case (false, false): trueNegatives += 1
        }
    }

    public static func + (a: Confusion, b: Confusion) -> Confusion {
        Confusion(truePositives: a.truePositives + b.truePositives, falsePositives: a.falsePositives + b.falsePositives,
                  falseNegatives: a.falseNegatives + b.falseNegatives, trueNegatives: a.trueNegatives + b.trueNegatives)
    }

    /// Cases expected positive (TP + FN).
    public var positives: Int { truePositives + falseNegatives }
    /// Cases expected negative (FP + TN).
    public var negatives: Int { falsePositives + trueNegatives }
    public var total: Int { positives + negatives }

    /// TP / (TP + FP).
    public var precision: Double? { ratio(truePositives, truePositives + falsePositives) }
    /// TP / (TP + FN).
    public var recall: Double? { ratio(truePositives, truePositives + falseNegatives) }
    /// 2TP / (2TP + FP + FN), the harmonic mean of precision and recall.
    public var f1: Double? { ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives) }
    /// FP / (FP + TN): the share of negative cases that fire.
    public var falsePositiveRate: Double? { ratio(falsePositives, falsePositives + trueNegatives) }

    enum CodingKeys: String, CodingKey {
        case truePositives = "tp", falsePositives = "fp", falseNegatives = "fn", trueNegatives = "tn"
        case precision, recall, f1, falsePositiveRate = "false_positive_rate"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        truePositives = try c.decode(Int.self, forKey: .truePositives)
        falsePositives = try c.decode(Int.self, forKey: .falsePositives)
        falseNegatives = try c.decode(Int.self, forKey: .falseNegatives)
        trueNegatives = try c.decode(Int.self, forKey: .trueNegatives)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(truePositives, forKey: .truePositives)
        try c.encode(falsePositives, forKey: .falsePositives)
        try c.encode(falseNegatives, forKey: .falseNegatives)
        try c.encode(trueNegatives, forKey: .trueNegatives)
        try c.encode(precision.map(rounded), forKey: .precision)
        try c.encode(recall.map(rounded), forKey: .recall)
        try c.encode(f1.map(rounded), forKey: .f1)
        try c.encode(falsePositiveRate.map(rounded), forKey: .falsePositiveRate)
    }
}

func ratio(_ numerator: Int, _ denominator: Int) -> Double? {
    denominator == 0 ? nil : Double(numerator) / Double(denominator)
}

/// Six decimals are plenty for a report and keep the JSON readable.
func rounded(_ x: Double) -> Double { (x * 1e6).rounded() / 1e6 }
