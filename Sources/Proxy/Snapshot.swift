import NIOConcurrencyHelpers
import Screening

/// One immutable, complete set of what screening needs: compiled lexicons and the policy.
/// Every request takes the current snapshot when it starts and keeps it to its end, so a
/// reload never changes the rules under a request or a stream.
public final class Snapshot: Sendable {
    public let lexicons: LexiconSet
    public let policy: SidecarConfiguration.ScreeningPolicy
    /// Short content hash of the lexicon files (and the policy file, when there is one), as
    /// shown in headers, audit events, `/admin/lexicons` and metrics.
    public let version: String

    public init(lexicons: LexiconSet, policy: SidecarConfiguration.ScreeningPolicy, version: String? = nil) {
        self.lexicons = lexicons
        self.policy = policy
        self.version = version ?? lexicons.version
    }
    public var actions: ActionPolicy { policy.actions }
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
