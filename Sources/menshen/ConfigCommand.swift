import ArgumentParser
import Proxy

/// `menshen config …`: the configuration reference and a checker for policy files.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Configuration reference and policy file checks.",
        subcommands: [Reference.self, Check.self])

    struct Reference: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the configuration reference (Markdown).")
        func run() { print(SidecarConfiguration.referenceMarkdown(), terminator: "") }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a YAML policy file; exit 2 naming every bad key.")
        @Argument(help: "The policy file.") var file: String
        func run() throws {
            do {
                let c = try SidecarConfiguration.load(file: file)
                let problems = c.validate().filter { !$0.hasPrefix("upstream: required") }
                for p in problems { printError("configuration: \(p)") }
                if !problems.isEmpty { throw ExitCode(2) }
                print("ok: \(file)")
            } catch let error as ConfigurationError {
                for p in error.problems { printError("configuration: \(p)") }
                throw ExitCode(2)
            }
        }
    }
}
