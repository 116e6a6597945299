#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The last record a sink holds: where the hash chain continues.
struct ChainHead: Sendable, Equatable {
    var seq: UInt64
    var hash: String
    static let genesis = ChainHead(seq: 0, hash: AuditRecord.genesis)
}

/// A sink failed part-way through a batch: the first `written` lines are in it, the rest not.
struct SinkFailure: Error, CustomStringConvertible {
    let written: Int
    let underlying: any Error
    var description: String { "\(underlying)" }
}

/// Where lines go. Every method is called from the writer thread only, so sinks need no locks.
protocol AuditSink: AnyObject {
    /// For log lines: `file /var/log/menshen/audit`, `stdout`.
    var name: String { get }
    /// Whether the sink can take lines. A sink that failed closes itself until `open` works.
    var isOpen: Bool { get }
    /// Whether the sink's contents are the hash chain (the file sink); the log continues
    /// the chain from what `open` finds in it.
    var holdsChain: Bool { get }
    /// Opens or reopens: recovers what a crash left and returns the last record it holds
    /// (nil: none, or not a chain holder).
    func open(now: Date) throws -> ChainHead?
    /// Appends lines in order; throws `SinkFailure` saying how many made it.
    func write(_ lines: [(seq: UInt64, bytes: [UInt8])], now: Date) throws
    /// Makes what was written durable.
    func sync() throws
    /// Syncs and closes (at shutdown).
    func close()
}

/// Standard output, for the cluster's log collector. Writes go straight to fd 1; there is
/// nothing to fsync on a pipe.
final class StdoutSink: AuditSink {
    let fd: Int32
    let name = "stdout"
    let isOpen = true
    let holdsChain = false

    init(fd: Int32 = 1) { self.fd = fd }

    func open(now: Date) throws -> ChainHead? { nil }

    func write(_ lines: [(seq: UInt64, bytes: [UInt8])], now: Date) throws {
        do { try POSIXFile.writeAll(fd, lines.flatMap(\.bytes), path: "stdout") } catch {
            throw SinkFailure(written: 0, underlying: error)
        }
    }

    func sync() throws {}
    func close() {}
}
