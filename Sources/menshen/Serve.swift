import ArgumentParser
import Foundation
import Logging
import Proxy
import Screening

/// `menshen serve`: the screening proxy.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the screening proxy in front of a model server.",
        discussion: """
        Configuration comes from defaults, then --config FILE (YAML), then MENSHEN_* environment
        variables, then these flags. Invalid configuration or lexicons stop start-up with every
        problem named.
        """)

    @Option(help: "host:port to listen on (HTTP/1.1 and h2c). Default 127.0.0.1:8080.")
    var listen: String?
    @Option(help: "URL of the model server, e.g. http://127.0.0.1:8000.")
    var upstream: String?
    @Option(help: "Lexicon directory. Default ./Lexicons.")
    var lexicons: String?
    @Option(help: "YAML policy file.")
    var config: String?
    @Flag(help: "Start a built-in scripted demo upstream and proxy to it.")
    var demo = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"
    @Option(help: "Log format: json (one object per line, for collectors) or text.")
    var logFormat: String = "json"

    func run() async throws {
        var configuration = SidecarConfiguration()
        do {
            if let config { configuration = try SidecarConfiguration.load(file: config) }
            try configuration.apply(environment: ProcessInfo.processInfo.environment)
        } catch {
            for p in error.problems { printError("configuration: \(p)") }
            throw ExitCode(2)
        }
        if let listen {
            guard let hp = SidecarConfiguration.HostPort.parse(listen) else { printError("configuration: --listen: '\(listen)' is not host:port"); throw ExitCode(2) }
            configuration.listen = hp
        }
        if let upstream { configuration.upstream = upstream }
        if let lexicons { configuration.lexicons = lexicons }
        if demo { configuration.demo = true }

        let level = Logger.Level(rawValue: logLevel) ?? .info
        let json = logFormat != "text"
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "menshen")
        let sidecar: Sidecar
        do {
            sidecar = try Sidecar(configuration: configuration, logger: logger)
        } catch let error as ConfigurationError {
            for p in error.problems { printError("configuration: \(p)") }
            throw ExitCode(2)
        } catch let error as LexiconLoadError {
            for issue in error.issues { printError(issue.description) }
            printError("\(error.issues.count) lexicon problem(s); not starting.")
            throw ExitCode(1)
        }
        try await sidecar.run()
    }
}
