import ArgumentParser

/// `menshen serve`: the proxy. (Wired in the proxy issue.)
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the screening proxy.")
    func run() async throws {
        throw ValidationError("serve is not built yet")
    }
}
