import Foundation
import Screening
@testable import Evaluation

/// A fresh directory under the system temporary directory, with `files` (relative path → text)
/// written into it. Removed by the caller with `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ files: [String: String] = [:]) throws {
        path = NSTemporaryDirectory() + "menshen-eval-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files { try write(name, text) }
    }

    func write(_ name: String, _ text: String) throws {
        let full = path + "/" + name
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Evaluation options for tests: no throughput loop.
func quickOptions(_ configure: (inout EvaluationOptions) -> Void = { _ in }) -> EvaluationOptions {
    var o = EvaluationOptions()
    o.throughputMinimumSeconds = 0
    configure(&o)
    return o
}
