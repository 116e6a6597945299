import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// HTTP/1.1 and cleartext HTTP/2 (prior knowledge, as `curl --http2-prior-knowledge` and
/// h2load speak it) on one port: the first bytes decide. A connection that starts with the
/// 24-byte HTTP/2 preface gets Hummingbird's HTTP/2 pipeline, anything else its HTTP/1 one.
///
/// `setup` must complete at once (NIO starts reading a child channel only after its
/// initializer finishes, so waiting for the preface there would hang the connection); the
/// decision is a future awaited in `handle`, as Hummingbird's own HTTP2UpgradeChannel does.
struct DualProtocolChannel: ServerChildChannel {
    enum Decided: Sendable {
        case http1(HTTP1Channel.Value)
        case http2(HTTP2Channel.Value)
    }

    struct Value: ServerChildChannelValue {
        let decision: EventLoopFuture<Decided>
        let channel: any Channel
        let claim: Claim
    }

    /// Closes a connection properly if the server drops it without handling it.
    ///
    /// Why: when the server stops (its task cancelled), connections accepted but not yet handed
    /// to `handle` are dropped. If such a connection's first bytes arrive, the sniffer builds an
    /// HTTP/1 async channel that nobody runs, and NIO traps when its writer is deinitialized
    /// unfinished — the process dies in the middle of a shutdown (seen once in the test suite).
    final class Claim: Sendable {
        private let claimed = NIOLockedValueBox(false)
        private let decision: EventLoopFuture<Decided>

        init(_ decision: EventLoopFuture<Decided>) { self.decision = decision }

        /// `handle` has the connection: nothing to clean up here.
        func take() { claimed.withLockedValue { $0 = true } }

        deinit {
            guard !claimed.withLockedValue({ $0 }) else { return }
            decision.whenSuccess { decided in
                switch decided {
                case .http1(let asyncChannel):
                    Task { try? await asyncChannel.executeThenClose { _, _ in } }
                case .http2(let value):
                    value.channel.close(promise: nil)
                }
            }
        }
    }

    let http1: HTTP1Channel
    let http2: HTTP2Channel

    init(responder: @escaping HTTPChannelHandler.Responder, idleTimeout: TimeAmount?) {
        http1 = HTTP1Channel(responder: responder, configuration: .init(idleTimeout: idleTimeout))
        http2 = HTTP2Channel(responder: responder, configuration: .init(idleTimeout: idleTimeout.map { Duration.nanoseconds($0.nanoseconds) } ?? .seconds(60)))
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let promise = channel.eventLoop.makePromise(of: Decided.self)
            try channel.pipeline.syncOperations.addHandler(PrefaceSniffer(promise: promise, http1: http1, http2: http2, logger: logger))
            return Value(decision: promise.futureResult, channel: channel, claim: Claim(promise.futureResult))
        }
    }

    func handle(value: Value, logger: Logger) async {
        value.claim.take()
        do {
            // A connection that never sends a byte (a TCP health check) must not hold up a
            // graceful shutdown: close it when shutdown starts (the sniffer's timeout closes it anyway).
            let decision = try await withGracefulShutdownHandler {
                try await value.decision.get()
            } onGracefulShutdown: {
                value.channel.close(promise: nil)
            }
            switch decision {
            case .http1(let v): await http1.handle(value: v, logger: logger)
            case .http2(let v): await http2.handle(value: v, logger: logger)
            }
        } catch {
            try? await value.channel.close()
        }
    }
}

/// Buffers the first bytes until they either are or cannot be the HTTP/2 preface, installs
/// the chosen pipeline behind itself, replays the bytes and removes itself.
final class PrefaceSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let promise: EventLoopPromise<DualProtocolChannel.Decided>
    private let http1: HTTP1Channel
    private let http2: HTTP2Channel
    private let logger: Logger
    private var buffered: ByteBuffer?
    private var decided = false

    init(promise: EventLoopPromise<DualProtocolChannel.Decided>, http1: HTTP1Channel, http2: HTTP2Channel, logger: Logger) {
        self.promise = promise
        self.http1 = http1
        self.http2 = http2
        self.logger = logger
    }

    /// How long a new connection may stay silent before it is closed.
    static let firstBytesTimeout: TimeAmount = .seconds(30)
    private var timeout: Scheduled<Void>?

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timeout = context.eventLoop.scheduleTask(in: Self.firstBytesTimeout) { [weak self] in
            guard let self, !self.decided else { return }
            self.decided = true
            self.promise.fail(ChannelError.inputClosed)
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) { timeout?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
        let bytes = buffered!.readableBytesView
        let n = min(bytes.count, Self.preface.count)
        let isPrefix = bytes.prefix(n).elementsEqual(Self.preface.prefix(n))
        if isPrefix && bytes.count < Self.preface.count { return }      // need more bytes to decide
        decide(context: context, http2: isPrefix)
    }

    private func decide(context: ChannelHandlerContext, http2 useHTTP2: Bool) {
        guard !decided else { return }
        decided = true
        let channel = context.channel
        if useHTTP2 {
            http2.setup(channel: channel, logger: logger).map { DualProtocolChannel.Decided.http2($0) }.cascade(to: promise)
        } else {
            http1.setup(channel: channel, logger: logger).map { DualProtocolChannel.Decided.http1($0) }.cascade(to: promise)
        }
        if let buffered { context.fireChannelRead(wrapInboundOut(buffered)) }
        buffered = nil
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    typealias InboundOut = ByteBuffer

    func channelInactive(context: ChannelHandlerContext) {
        if !decided { decided = true; promise.fail(ChannelError.inputClosed) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !decided { decided = true; promise.fail(error) }
        context.fireErrorCaught(error)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 and h2c on one listener.
    static func http1AndH2C(idleTimeout: TimeAmount? = .seconds(120)) -> HTTPServerBuilder {
        .init { responder in DualProtocolChannel(responder: responder, idleTimeout: idleTimeout) }
    }
}
