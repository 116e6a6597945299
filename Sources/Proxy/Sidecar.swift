import AsyncHTTPClient
import Audit
import Hooks
import Crypto
import Labeling
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Screening
import ServiceLifecycle
import UnixSignals

/// The running sidecar: lexicons loaded, upstream client pooled, listener bound.
///
/// ```swift
/// let sidecar = try Sidecar(configuration: config, logger: logger)
/// try await sidecar.run()          // until SIGTERM / SIGINT, then drains and returns
/// ```
public struct Sidecar: Sendable {
    /// Makes NIO's event loops Swift concurrency's global executor, so a request's async code
    /// runs on the loop threads instead of hopping to a separate thread pool and back at every
    /// `await` on I/O (on two cores the context switches of those hops showed high in profiles).
    /// Safe for Menshen because nothing it runs as a task blocks: the audit log writes on its
    /// own thread, lexicon compiles run on a dispatch queue, inotify on its own queue.
    ///
    /// Call once, from the main thread, before any task starts (the top of `main.swift`).
    @discardableResult
    public static func runTasksOnEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    public let configuration: SidecarConfiguration
    public let store: SnapshotStore
    public let metrics: SidecarMetrics
    public let reloader: Reloader
    let logger: Logger
    let adminToken: String?
    let labeler: Labeler?
    let auditLog: AuditLog?

    /// Loads lexicons and checks the configuration; throws with every problem named.
    public init(configuration: SidecarConfiguration, metrics: SidecarMetrics = SidecarMetrics(), logger: Logger) throws {
        var problems = configuration.validate()
        var token: String?
        if let file = configuration.admin.tokenFile {
            token = (try? String(contentsOfFile: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if token?.isEmpty ?? true { problems.append("admin.token_file: cannot read a token from \(file)") }
        }
        // GB 45438 labels: the key signs ReservedCode1/2.
        var labeler: Labeler?
        if configuration.labels.enabled {
            var labelConfiguration = LabelConfiguration(contentProducer: configuration.labels.contentProducer)
            labelConfiguration.explicitText = configuration.labels.explicitText
            labelConfiguration.explicitPosition = configuration.labels.explicitPosition
            labelConfiguration.contentPropagator = configuration.labels.contentPropagator
            labelConfiguration.propagateID = configuration.labels.propagateID
            labelConfiguration.keyID = configuration.labels.keyID
            do {
                let key: SymmetricKey
                if let file = configuration.labels.keyFile { key = try LabelKey.load(file: file) }
                else if let variable = configuration.labels.keyEnvironment { key = try LabelKey.load(environmentVariable: variable) }
                else {
                    key = SymmetricKey(size: .bits256)
                    logger.warning("labels: no labels.key_file or labels.key_env; signing with an ephemeral key — labels cannot be verified after a restart")
                }
                if configuration.labels.contentProducer == "00" + String(repeating: "0", count: 25) {
                    logger.warning("labels: labels.content_producer is the all-zero placeholder; set your provider code")
                }
                labeler = try Labeler(configuration: labelConfiguration, key: key)
            } catch {
                problems.append("labels: \(error)")
            }
        }
        if !problems.isEmpty { throw ConfigurationError(problems: problems) }
        self.labeler = labeler
        do {
            var auditConfiguration = configuration.audit.log
            if auditConfiguration.directory == nil && !auditConfiguration.stdout { auditConfiguration.stdout = true }
            var auditLogger = logger
            auditLogger[metadataKey: "component"] = "audit"
            auditLog = try AuditLog(configuration: auditConfiguration, logger: auditLogger)
        } catch {
            throw ConfigurationError(problems: ["audit: \(error)"])
        }
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.adminToken = token
        let policyBytes = configuration.policyFile.flatMap { try? Data(contentsOf: URL(fileURLWithPath: $0)) }.map { Array($0) } ?? []
        let lexicons = try LexiconSet.load(directory: configuration.lexicons)
        let snapshot = Snapshot(lexicons: lexicons, policy: configuration.screening, version: Reloader.version(lexicons: lexicons, policy: policyBytes))
        store = SnapshotStore(snapshot)
        metrics.lexiconVersion(snapshot.version, previous: nil)
        reloader = Reloader(store: store, lexiconDirectory: configuration.lexicons, policyFile: configuration.policyFile,
                            baseConfiguration: configuration, metrics: metrics, logger: logger)
    }

    /// Connections the hooks' HTTP client allows per classifier host at least, whatever the
    /// starting hooks need: hooks added by a reload share the client.
    static let minimumHookConnections = 64

    /// Serves until a shutdown signal (or until the task is cancelled). `onListening` gets the
    /// bound port (useful with port 0 in tests).
    public func run(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint],
                    onListening: (@Sendable (Int) async -> Void)? = nil,
                    onAdminListening: (@Sendable (Int) async -> Void)? = nil) async throws {
        var services: [any Service] = []
        await reloader.start()
        var upstream = configuration.demo ? "" : (configuration.routedUpstreams.first?.url ?? "")
        if configuration.demo {
            let demo = try await DemoUpstream.start(logger: logger)
            upstream = demo.baseURL
            services.append(demo.service)
            logger.notice("DEMO upstream (scripted answers, not a model) at \(demo.baseURL)")
        }
        if upstream.hasSuffix("/") { upstream.removeLast() }
        let upstreamURL = upstream

        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60),
                                                   concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.limits.maxUpstreamConnections)
        clientConfiguration.timeout = .init(connect: TimeAmount(configuration.timeouts.connect), read: TimeAmount(configuration.timeouts.readIdle))
        clientConfiguration.decompression = .disabled
        clientConfiguration.redirectConfiguration = .disallow
        clientConfiguration.httpVersion = .automatic
        // Menshen exports no traces; left at its default the client picks up the global (no-op)
        // tracer and still builds a span and its attributes for every upstream request.
        clientConfiguration.tracing.tracer = nil
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: clientConfiguration)

        // Classifier hooks: their own HTTP client (no retries: a refused connection fails at once
        // and applies the hook's on_failure), created even without hooks so that a reload can
        // add some. The runner lives in the snapshot: a reload swaps it with the policy.
        let hookClient = HookRunner.makeHTTPClient(for: configuration.hooks, minimumSlots: Self.minimumHookConnections)
        do {
            let hooks = configuration.hooks.hooks.isEmpty ? nil : try HookRunner(settings: configuration.hooks, httpClient: hookClient, logger: logger)
            store.replace(with: store.snapshot.with(hooks: hooks))
        } catch {
            try? await hookClient.shutdown()
            throw error
        }
        await reloader.useHooks(client: hookClient, logger: logger)
        let health = HealthState()
        var upstreams = configuration.routedUpstreams
        if configuration.demo {
            // `url: demo` in an upstreams list means the demo upstream (so the hybrid set-up can be tried locally).
            upstreams = upstreams.map { u in var u = u; if u.url == "demo" { u.url = upstreamURL }; return u }
            if upstreams.isEmpty || configuration.upstreams.isEmpty { upstreams = [UpstreamConfiguration(name: "demo", url: upstreamURL, trust: .internal)] }
        }
        let pool = UpstreamPool(upstreams: upstreams, health: .init(failureThreshold: configuration.upstreamHealth.failureThreshold,
                                                                     cooldown: configuration.upstreamHealth.cooldown))
        let responder = SidecarResponder(store: store, client: client, pool: pool, configuration: configuration,
                                         health: health, metrics: metrics,
                                         audit: AuditRecorder(log: auditLog, settings: configuration.audit, metrics: metrics),
                                         labeling: labeler.map(AnswerLabeling.init(labeler:)), logger: logger)
        let app = Application(
            responder: responder,
            server: .http1AndH2C(),
            configuration: .init(address: .hostname(configuration.listen.host, port: configuration.listen.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.notice("menshen listening on \(configuration.listen.host):\(port) (HTTP/1.1 and h2c), upstream \(upstreamURL), lexicons \(store.snapshot.version)")
                await onListening?(port)
            },
            logger: logger)
        services.insert(ReadinessService(health: health), at: 0)
        services.append(AdminServer.application(configuration: configuration, store: store, reloader: reloader, metrics: metrics,
                                                health: health, token: adminToken, audit: auditLog, logger: logger, onListening: onAdminListening))
        services.append(HangupReloadService(reloader: reloader))
        if configuration.reload.watch {
            var watched = [configuration.lexicons]
            if let policy = configuration.policyFile { watched.append((policy as NSString).deletingLastPathComponent.isEmpty ? "." : (policy as NSString).deletingLastPathComponent) }
            services.append(LexiconWatcher(directories: watched, reloader: reloader, quietPeriod: configuration.reload.debounce,
                                           pollInterval: configuration.reload.pollInterval, logger: logger))
        }
        services.append(app)
        var groupConfiguration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0, successTerminationBehavior: $0 is Application<SidecarResponder> ? .gracefullyShutdownGroup : .ignore) },
            gracefulShutdownSignals: gracefulShutdownSignals,
            cancellationSignals: [],
            logger: logger)
        // In-flight streams get this long to finish after SIGTERM; then they are cancelled.
        groupConfiguration.maximumGracefulShutdownDuration = configuration.timeouts.drain
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            // Run as a service of an outer group (tests, an embedding process), the outer
            // group's graceful shutdown drains this one too.
            try await withGracefulShutdownHandler {
                try await group.run()
            } onGracefulShutdown: {
                Task { await group.triggerGracefulShutdown() }
            }
        } catch {
            try? await client.shutdown()
            try? await hookClient.shutdown()
            await auditLog?.close()
            throw error
        }
        try await client.shutdown()
        try? await hookClient.shutdown()
        await auditLog?.close()
    }
}

/// Turns readiness off as soon as shutdown starts, so `/readyz` answers 503 while in-flight
/// requests drain.
struct ReadinessService: Service {
    let health: HealthState
    func run() async throws {
        try? await gracefulShutdown()
        health.startDraining()
    }
}
