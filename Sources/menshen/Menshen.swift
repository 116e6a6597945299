import ArgumentParser

/// `menshen`: the content-safety sidecar and its tools. Each subcommand is thin wiring over
/// the Screening and Proxy modules.
struct Menshen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "menshen",
        abstract: "门神 Menshen — a content-safety sidecar for LLM deployments.",
        subcommands: [Check.self, LexiconCommand.self, Serve.self, ConfigCommand.self, LabelCommand.self, AuditCommand.self,
                      Eval.self, Coverage.self])
}

extension Menshen {
    /// The async entry point, called from `main.swift`. (Top-level code calling `main()` itself
    /// resolves to `ParsableCommand`'s synchronous one, which only prints help for async commands.)
    static func start() async {
        await main()
    }
}
