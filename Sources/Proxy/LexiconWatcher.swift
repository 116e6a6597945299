#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Watches the lexicon directory (and the policy file's directory) and asks the reloader to
/// reload after changes settle.
///
/// Why inotify *and* polling: inotify (Linux) sees a change within milliseconds, and watching
/// the *directories* covers how files really change — editors that save by writing a temp file
/// and renaming it over the old one (a watch on the file itself would go stale), files added
/// and removed, and Kubernetes ConfigMap volumes, where kubelet swaps the `..data` symlink
/// atomically (an IN_MOVED_TO in the top directory). Events are debounced: a reload starts
/// only after `quietPeriod` without events, so a half-written file is not compiled mid-write.
/// Polling every `pollInterval` is the safety net for what inotify cannot see (network file
/// systems, a watch limit reached, platforms without inotify); it costs a read and a hash of
/// the files — about 2 ms for 100k terms — and compiles only when the hash changed.
struct LexiconWatcher: Service {
    let directories: [String]
    let reloader: Reloader
    let quietPeriod: Duration
    let pollInterval: Duration
    let logger: Logger

    func run() async throws {
        let (events, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let changes = NIOLockedValueBox(0)
        let inotify = InotifySource(directories: directories, logger: logger) {
            changes.withLockedValue { $0 += 1 }
            continuation.yield()
        }
        defer { inotify?.cancel() }
        if inotify == nil { logger.warning("inotify unavailable; watching lexicons by polling every \(pollInterval)") }
        let poller = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: pollInterval)
                continuation.yield()
            }
        }
        defer { poller.cancel() }
        await withGracefulShutdownHandler {
            for await _ in events {
                // Debounce: wait until a whole quiet period passes without a new event (at most
                // 20 periods, so a file rewritten without pause is still picked up).
                for _ in 0..<20 {
                    let before = changes.withLockedValue { $0 }
                    try? await Task.sleep(for: quietPeriod)
                    if changes.withLockedValue({ $0 }) == before { break }
                }
                inotify?.rescan()
                _ = await reloader.reload(reason: "file change")
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
    }
}

/// inotify on a set of directories (recursively), calling `onChange` from a Dispatch queue.
final class InotifySource: @unchecked Sendable {
    // Mutable state is touched only on `queue`.
    private let fd: Int32
    private let queue = DispatchQueue(label: "menshen.inotify")
    private let source: DispatchSourceRead
    private let roots: [String]
    private var watched: [Int32: String] = [:]
    private let logger: Logger

    init?(directories: [String], logger: Logger, onChange: @escaping @Sendable () -> Void) {
        #if canImport(Glibc)
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        self.fd = fd
        self.roots = directories
        self.logger = logger
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [weak self] in
            guard let self else { return }
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { onChange() }
        }
        source.setCancelHandler { close(fd) }
        queue.sync { addWatches() }
        source.resume()
        #else
        return nil
        #endif
    }

    /// Adds watches for directories created since the last scan.
    func rescan() { queue.async { self.addWatches() } }

    private func addWatches() {
        #if canImport(Glibc)
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
        let known = Set(watched.values)
        for root in roots {
            for directory in Self.directories(under: root) where !known.contains(directory) {
                let wd = inotify_add_watch(fd, directory, mask)
                if wd >= 0 { watched[wd] = directory } else {
                    logger.warning("cannot watch \(directory): errno \(errno); polling still covers it")
                }
            }
        }
        #endif
    }

    /// `root` and its subdirectories (hidden ones included: ConfigMap data lives in `..data`).
    static func directories(under root: String) -> [String] {
        var result = [root]
        let fm = FileManager.default
        var queue = [root]
        while let dir = queue.popLast(), result.count < 256 {
            guard let names = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            for name in names {
                let path = dir + "/" + name
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
                    // Do not follow symlinked directories twice (..data → ..2026_…).
                    if (try? fm.destinationOfSymbolicLink(atPath: path)) != nil { continue }
                    result.append(path)
                    queue.append(path)
                }
            }
        }
        return result
    }

    func cancel() { source.cancel() }
}
