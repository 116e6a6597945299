import AsyncHTTPClient
import Crypto
import Dispatch
import Foundation
import Hooks
import Logging
import Screening

/// What one reload did.
public enum ReloadOutcome: Sendable, Equatable {
    /// A new snapshot is serving.
    case applied(version: String)
    /// The files hash to the version already serving; nothing changed.
    case unchanged(version: String)
    /// The new files are broken; the last good snapshot keeps serving.
    case rejected(errors: [String])

    var label: String {
        switch self {
        case .applied: return "applied"
        case .unchanged: return "unchanged"
        case .rejected: return "rejected"
        }
    }
}

/// The one funnel for reloads: the file watcher, SIGHUP and `POST /admin/reload` all call
/// ``reload(reason:)``. It compiles the lexicons and the policy off the request path, then
/// swaps one immutable snapshot; requests in flight keep the snapshot they started with, and
/// the old one is freed when the last of them ends (ARC).
public actor Reloader {
    private let store: SnapshotStore
    private let lexiconDirectory: String
    private let policyFile: String?
    private let baseConfiguration: SidecarConfiguration
    private let metrics: SidecarMetrics
    private let logger: Logger
    /// Problems of the last rejected reload, until a reload is applied or unchanged.
    public private(set) var lastErrors: [String] = []
    public private(set) var lastOutcome: ReloadOutcome?
    public private(set) var lastReloadAt: Date?
    /// Fingerprint of the files behind the serving snapshot, and of the last rejected ones:
    /// a reload whose files hash the same is decided without compiling anything.
    private var servingFingerprint: String?
    private var rejectedFingerprint: String?
    /// The policy file as it was read at start (over defaults only), to tell which changed
    /// sections a reload cannot apply.
    private var startPolicy: SidecarConfiguration?
    /// Policy sections changed in the file since start that only a restart applies (a reload
    /// swaps lexicons, `screening` and the hooks; listeners, upstreams, labels, audit and
    /// limits are built once). Empty when there are none.
    public private(set) var restartRequired: [String] = []
    /// The HTTP client hook runners built by a reload use (set by the sidecar when it starts;
    /// until then a change of the hooks is named as needing a restart).
    private var hookClient: HTTPClient?
    private var hookLogger = Logger(label: "menshen.hooks")

    /// Lets reloads build classifier hooks on `client` (which the caller owns and shuts down).
    public func useHooks(client: HTTPClient, logger: Logger) {
        hookClient = client
        hookLogger = logger
    }

    public init(store: SnapshotStore, lexiconDirectory: String, policyFile: String?, baseConfiguration: SidecarConfiguration,
                metrics: SidecarMetrics, logger: Logger) {
        self.store = store
        self.lexiconDirectory = lexiconDirectory
        self.policyFile = policyFile
        self.baseConfiguration = baseConfiguration
        self.metrics = metrics
        self.logger = logger
    }

    /// Records the fingerprint of the files the initial snapshot was built from.
    public func start() async {
        let directory = lexiconDirectory, policyFile = policyFile
        servingFingerprint = await Self.offPool { Self.fingerprint(lexiconDirectory: directory, policyFile: policyFile) }
        if let policyFile { startPolicy = await Self.offPool { try? SidecarConfiguration.load(file: policyFile) } }
    }

    /// The top-level policy keys whose sections differ between two readings of the policy file,
    /// leaving out what a reload applies (`screening`).
    static func sectionsNeedingRestart(from old: SidecarConfiguration, to new: SidecarConfiguration, reloadsHooks: Bool) -> [String] {
        var changed: [String] = []
        if old.listen != new.listen { changed.append("listen") }
        if old.upstream != new.upstream || old.upstreams != new.upstreams { changed.append("upstreams") }
        if old.limits != new.limits { changed.append("limits") }
        if old.timeouts != new.timeouts { changed.append("timeouts") }
        if old.desensitization != new.desensitization { changed.append("desensitization") }
        if old.upstreamHealth != new.upstreamHealth { changed.append("upstream_health") }
        if old.admin != new.admin { changed.append("admin") }
        if old.reload != new.reload { changed.append("reload") }
        if old.labels != new.labels { changed.append("labels") }
        if old.audit != new.audit { changed.append("audit") }
        if old.hooks != new.hooks && !reloadsHooks { changed.append("hooks") }
        return changed
    }

    /// Notes (and logs, once per change) policy sections a reload cannot apply.
    private func checkRestartRequired() async {
        guard let policyFile, let startPolicy else { return }
        guard let now = await Self.offPool({ try? SidecarConfiguration.load(file: policyFile) }) else { return }
        let changed = Self.sectionsNeedingRestart(from: startPolicy, to: now, reloadsHooks: hookClient != nil)
        if !changed.isEmpty && changed != restartRequired {
            logger.warning("policy sections changed that take effect only at the next restart: \(changed.joined(separator: ", ")); the running values stay in force",
                           metadata: ["policy_file": "\(policyFile)"])
        }
        restartRequired = changed
    }

    /// Loads everything anew; applies it if it differs from what is serving and is valid.
    @discardableResult
    public func reload(reason: String) async -> ReloadOutcome {
        let current = store.snapshot
        let directory = lexiconDirectory, policyFile = policyFile, base = baseConfiguration
        let fingerprint = await Self.offPool { Self.fingerprint(lexiconDirectory: directory, policyFile: policyFile) }
        if let fingerprint, fingerprint == servingFingerprint {
            lastErrors = []
            lastOutcome = .unchanged(version: current.version)
            metrics.reload(outcome: "unchanged")
            return .unchanged(version: current.version)
        }
        if let fingerprint, fingerprint == rejectedFingerprint, !lastErrors.isEmpty {
            metrics.reload(outcome: "rejected")
            return .rejected(errors: lastErrors)
        }
        // Compiling 100k terms takes about a second of CPU: do it on a Dispatch thread so the
        // cooperative pool that serves requests is not held up.
        let built = await Self.offPool { Self.build(lexiconDirectory: directory, policyFile: policyFile, base: base) }
        let result: Result<Snapshot, ReloadFailure>
        switch built {
        case .success(let b):
            do { result = .success(try hooked(b.snapshot, settings: b.hooks, current: current)) } catch { result = .failure(error) }
        case .failure(let failure):
            result = .failure(failure)
        }
        let outcome: ReloadOutcome
        switch result {
        case .success(let snapshot) where snapshot.version == current.version:
            outcome = .unchanged(version: current.version)
            servingFingerprint = fingerprint
            lastErrors = []
        case .success(let snapshot):
            store.replace(with: snapshot)
            servingFingerprint = fingerprint
            metrics.lexiconVersion(snapshot.version, previous: current.version)
            outcome = .applied(version: snapshot.version)
            lastErrors = []
            logger.notice("reload applied", metadata: ["version": "\(snapshot.version)", "previous": "\(current.version)", "reason": "\(reason)"])
        case .failure(let failure):
            rejectedFingerprint = fingerprint
            outcome = .rejected(errors: failure.problems)
            lastErrors = failure.problems
            // One line with every problem, so an alert shows the whole story.
            logger.error("reload rejected; still serving \(current.version): \(failure.problems.joined(separator: " | "))",
                         metadata: ["reason": "\(reason)"])
        }
        if case .rejected = outcome {} else { await checkRestartRequired() }
        metrics.reload(outcome: outcome.label)
        lastOutcome = outcome
        lastReloadAt = Date()
        return outcome
    }

    struct ReloadFailure: Error { let problems: [String] }

    /// `snapshot` with the hooks `settings` ask for: the serving runner when they are the same
    /// (its verdict cache and circuit breakers carry over), a new one otherwise.
    private func hooked(_ snapshot: Snapshot, settings: HookSettings, current: Snapshot) throws(ReloadFailure) -> Snapshot {
        if settings.hooks.isEmpty { return snapshot }
        if let running = current.hooks, running.settings == settings { return snapshot.with(hooks: running) }
        // No client yet (the sidecar is not serving): keep what runs; the change is named as
        // needing a restart.
        guard let hookClient else { return snapshot.with(hooks: current.hooks) }
        do {
            return snapshot.with(hooks: try HookRunner(settings: settings, httpClient: hookClient, logger: hookLogger))
        } catch {
            throw ReloadFailure(problems: error.problems)
        }
    }

    /// Runs blocking work (file reads, compiling) on a Dispatch thread.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async { continuation.resume(returning: work()) }
        }
    }

    /// Hash of every source file's content (lexicons and policy), without compiling.
    static func fingerprint(lexiconDirectory: String, policyFile: String?) -> String? {
        guard let lexicons = LexiconSet.contentVersion(directory: lexiconDirectory) else { return nil }
        guard let policyFile else { return lexicons }
        let bytes = Array((try? Data(contentsOf: URL(fileURLWithPath: policyFile))) ?? Data())
        var hasher = SHA256()
        hasher.update(data: Array(lexicons.utf8))
        hasher.update(data: bytes)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Builds a snapshot from disk, or every problem found.
    static func build(lexiconDirectory: String, policyFile: String?, base: SidecarConfiguration)
        -> Result<(snapshot: Snapshot, hooks: HookSettings), ReloadFailure> {
        var configuration = base
        var policyBytes: [UInt8] = []
        if let policyFile {
            do {
                configuration = try SidecarConfiguration.load(file: policyFile, over: base)
                policyBytes = Array((try? Data(contentsOf: URL(fileURLWithPath: policyFile))) ?? Data())
            } catch {
                return .failure(ReloadFailure(problems: error.problems))
            }
        }
        do {
            let lexicons = try LexiconSet.load(directory: lexiconDirectory)
            return .success((Snapshot(lexicons: lexicons, policy: configuration.screening, version: Self.version(lexicons: lexicons, policy: policyBytes)),
                             configuration.hooks))
        } catch {
            return .failure(ReloadFailure(problems: error.issues.map(\.description)))
        }
    }

    /// The served version: the lexicons' content hash, combined with the policy file's when there is one.
    static func version(lexicons: LexiconSet, policy: [UInt8]) -> String {
        guard !policy.isEmpty else { return lexicons.version }
        var hasher = SHA256()
        hasher.update(data: Array(lexicons.version.utf8))
        hasher.update(data: policy)
        return hasher.finalize().prefix(6).map { String(format: "%02x", $0) }.joined()
    }
}
