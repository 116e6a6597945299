import Audit
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import Screening
import ServiceLifecycle
import UnixSignals

/// The admin listener, apart from model traffic: `GET /admin/lexicons`, `POST /admin/reload`,
/// `GET /metrics`, and the probes. Loopback only by default; beyond loopback every request
/// needs `Authorization: Bearer <token from admin.token_file>`. Who may call it: ``AdminAccess``.
enum AdminServer {
    static func application(configuration: SidecarConfiguration, store: SnapshotStore, reloader: Reloader, metrics: SidecarMetrics,
                            health: HealthState, token: String?, audit: AuditLog?, logger: Logger,
                            onListening: (@Sendable (Int) async -> Void)?) -> some Service {
        let router = Router(context: AdminRequestContext.self)
        router.middlewares.add(AdminGuardMiddleware(token: token))
        router.get("/admin/lexicons") { _, _ -> Response in
            let snapshot = store.snapshot
            let stats = snapshot.lexicons.stats
            var body: [String: Any] = [
                "version": snapshot.version,
                "lexicon_version": snapshot.lexicons.version,
                "rules": snapshot.lexicons.rules.count,
                "terms_by_category": stats.termsByCategory,
                "regex_rules": stats.regexRules,
                "directory": configuration.lexicons,
            ]
            if let outcome = await reloader.lastOutcome { body["last_reload"] = outcome.label }
            if let at = await reloader.lastReloadAt { body["last_reload_at"] = ISO8601DateFormatter().string(from: at) }
            let errors = await reloader.lastErrors
            body["errors"] = errors          // every file:line problem of the last rejected reload
            body["restart_required"] = await reloader.restartRequired
            return json(body)
        }
        router.post("/admin/reload") { _, _ -> Response in
            let outcome = await reloader.reload(reason: "admin endpoint")
            switch outcome {
            case .applied(let v): return json(["outcome": "applied", "version": v, "restart_required": await reloader.restartRequired])
            case .unchanged(let v): return json(["outcome": "unchanged", "version": v, "restart_required": await reloader.restartRequired])
            case .rejected(let errors):
                return json(["outcome": "rejected", "errors": errors, "version": store.snapshot.version], status: .unprocessableContent)
            }
        }
        router.get("/metrics") { _, _ -> Response in
            if let stats = audit?.statistics {
                metrics.auditLog(accepted: stats.accepted, written: stats.written, lost: stats.lost, queueWaits: stats.queueWaits)
            }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        router.get("/healthz") { _, _ in json(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            json(["status": health.isReady ? "ready" : "draining", "version": store.snapshot.version],
                 status: health.isReady ? .ok : .serviceUnavailable)
        }
        var adminLogger = logger
        adminLogger[metadataKey: "listener"] = "admin"
        return Application(router: router,
                           configuration: .init(address: .hostname(configuration.admin.listen.host, port: configuration.admin.listen.port), serverName: nil),
                           onServerRunning: { channel in await onListening?(channel.localAddress?.port ?? 0) },
                           logger: adminLogger)
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}

/// `kill -HUP` reloads, through the same funnel.
struct HangupReloadService: Service {
    let reloader: Reloader

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            await reloader.reload(reason: "SIGHUP")
        }
    }
}
