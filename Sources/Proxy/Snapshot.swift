import Hooks
import NIOConcurrencyHelpers
import Screening

/// One immutable, complete set of what screening needs: compiled lexicons, the policy and the
/// classifier hooks. Every request takes the current snapshot when it starts and keeps it to
/// its end, so a reload never changes the rules — or the hooks — under a request or a stream.
public final class Snapshot: Sendable {
    public let lexicons: LexiconSet
    public let policy: SidecarConfiguration.ScreeningPolicy
    /// Short content hash of the lexicon files (and the policy file, when there is one), as
    /// shown in headers, audit events, `/admin/lexicons` and metrics.
    public let version: String
    /// Classifier hooks (nil when none are configured). A reload that leaves the hook
    /// settings as they are keeps the same runner, with its verdict cache and circuit breakers.
    public let hooks: HookRunner?

    public init(lexicons: LexiconSet, policy: SidecarConfiguration.ScreeningPolicy, version: String? = nil, hooks: HookRunner? = nil) {
        self.lexicons = lexicons
        self.policy = policy
        self.version = version ?? lexicons.version
        self.hooks = hooks
    }
    public var actions: ActionPolicy { policy.actions }

    /// The same snapshot with other hooks.
    func with(hooks: HookRunner?) -> Snapshot { Snapshot(lexicons: lexicons, policy: policy, version: version, hooks: hooks) }
}

/// Holds the current snapshot; swapping is atomic, readers never block each other for long.
public final class SnapshotStore: Sendable {
    private let current: NIOLockedValueBox<Snapshot>

    public init(_ snapshot: Snapshot) { current = NIOLockedValueBox(snapshot) }

    /// The snapshot a new request should use.
    public var snapshot: Snapshot { current.withLockedValue { $0 } }

    /// Installs a new snapshot; requests already running keep theirs.
    public func replace(with snapshot: Snapshot) { current.withLockedValue { $0 = snapshot } }
}
