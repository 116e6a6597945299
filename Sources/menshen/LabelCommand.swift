import ArgumentParser
import Crypto
import Foundation
import Labeling

/// `menshen label …`: check (and make) GB 45438 implicit labels.
struct LabelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "label",
        abstract: "Verify and make AIGC labels (GB 45438-2025).",
        subcommands: [Verify.self, Sign.self])

    /// Where the key comes from: exactly one of `--key-file`, `--key-env`.
    struct KeyOptions: ParsableArguments {
        @Option(help: "File holding the label key (its bytes, without a trailing newline; at least 32).")
        var keyFile: String?
        @Option(help: "Environment variable holding the label key.")
        var keyEnv: String?

        func validate() throws {
            if (keyFile == nil) == (keyEnv == nil) { throw ValidationError("give exactly one of --key-file and --key-env") }
        }

        func load() throws -> SymmetricKey {
            do {
                if let keyFile { return try LabelKey.load(file: keyFile) }
                return try LabelKey.load(environmentVariable: keyEnv!)
            } catch {
                printError(error.description)
                throw ExitCode(2)
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that an answer's text and its AIGC label are unchanged.",
            discussion: """
            Give a response body (--json-body: a chat/text completion JSON with a top-level "AIGC" \
            field, or a saved SSE stream), or a text and a label. The text covered is the content \
            as delivered, explicit label included; --text files are taken byte for byte.
            Prints intact / text altered / label altered / malformed / unknown key.
            Exit 0 intact, 1 anything else, 2 when the input or key cannot be read.
            """)

        @OptionGroup var key: KeyOptions
        @Option(help: "Accept only labels signed under this key id (default: whatever id the label names).")
        var keyID: String?
        @Option(help: "A response body file (- for standard input).")
        var jsonBody: String?
        @Option(help: "A file holding exactly the delivered text.")
        var text: String?
        @Option(help: "The label: a file, or the JSON itself ({\"AIGC\":{…}}).")
        var label: String?

        func validate() throws {
            let pair = text != nil && label != nil, neither = text == nil && label == nil
            if !(jsonBody != nil && neither || jsonBody == nil && pair) {
                throw ValidationError("give --json-body, or both --text and --label")
            }
        }

        func run() throws {
            let secret = try key.load()
            let answer: LabeledAnswer
            do {
                if let jsonBody {
                    answer = try LabeledAnswer.parse(body: try readInput(jsonBody))
                } else {
                    let labelText = label!.trimmingCharacters(in: .whitespaces).hasPrefix("{")
                        ? label! : String(decoding: try readInput(label!), as: UTF8.self)
                    answer = LabeledAnswer(text: String(decoding: try readInput(text!), as: UTF8.self),
                                           label: try AIGCLabel(jsonString: labelText))
                }
            } catch let error as LabelError {
                // A label that is not even an Appendix E object is a finding, not a usage error.
                if error.kind == "malformed_label" { print("malformed label: \(error)"); throw ExitCode(1) }
                printError(error.description)
                throw ExitCode(2)
            }
            let verifier = keyID.map { LabelVerifier(keys: [$0: secret]) } ?? LabelVerifier(key: secret)
            let verdict = verifier.verify(text: answer.text, label: answer.label)
            print(verdict.isIntact ? "intact: ProduceID \(answer.label.produceID), producer \(answer.label.contentProducer)" : verdict.description)
            if !verdict.isIntact { throw ExitCode(1) }
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the AIGC label Menshen would attach to a text (for tests and checks).")

        @OptionGroup var key: KeyOptions
        @Option(help: "The provider code: 00 + 20-character subject code + 5-character service code.")
        var producer: String
        @Option(help: "Key id written into ReservedCode2.")
        var keyID = "k1"
        @Option(help: "A file holding exactly the delivered text (- for standard input).")
        var text: String

        func run() throws {
            var configuration = LabelConfiguration(contentProducer: producer)
            configuration.keyID = keyID
            do {
                let labeler = try Labeler(configuration: configuration, key: try key.load())
                print(labeler.implicitLabel(for: String(decoding: try readInput(text), as: UTF8.self)).jsonString)
            } catch let error as LabelError {
                printError(error.description)
                throw ExitCode(2)
            }
        }
    }
}

/// A file's bytes, or standard input for `-`.
private func readInput(_ path: String) throws -> Data {
    if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
    guard let data = FileManager.default.contents(atPath: path) else {
        printError("\(path): cannot be read")
        throw ExitCode(2)
    }
    return data
}
