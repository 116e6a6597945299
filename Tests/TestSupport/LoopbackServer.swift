import Hummingbird
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// A Hummingbird application on 127.0.0.1 at a free port, for the in-process fakes tests talk
/// to (model servers, classifiers).
///
/// Stopped gracefully, never by cancelling its task: a server cancelled while a client is still
/// connecting drops the new connection's async channel unfinished, and NIO traps.
public final class LoopbackServer: Sendable {
    private let running = NIOLockedValueBox<(port: Int, group: ServiceGroup?)>((0, nil))

    public init() {}

    /// The bound port (0 before `start` returns).
    public var port: Int { running.withLockedValue { $0.port } }

    /// Serves `router` and returns once the port is bound.
    public func start(router: Router<BasicRequestContext>, label: String) async {
        let logger = Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() })
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) },
                              logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        Task { try await group.run() }
        for await p in stream { running.withLockedValue { $0 = (p, group) }; break }
    }

    /// Begins a graceful shutdown (requests in flight finish).
    public func stop() {
        guard let group = running.withLockedValue({ $0.group }) else { return }
        Task { await group.triggerGracefulShutdown() }
    }
}
