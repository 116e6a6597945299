#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A failed file operation, with the system's reason (`write /var/log/…/audit-….jsonl: No
/// space left on device`).
struct SystemError: Error, CustomStringConvertible {
    let operation: String
    let path: String
    let reason: String

    init(operation: String, path: String, errno code: Int32) {
        self.init(operation: operation, path: path, reason: String(cString: strerror(code)))
    }

    init(operation: String, path: String, reason: String) {
        self.operation = operation
        self.path = path
        self.reason = reason
    }

    var description: String { "\(operation) \(path): \(reason)" }
}

/// Thin wrappers over the POSIX calls the file sink needs: Foundation's `FileHandle` hides
/// errno, and "disk full" must be told apart from "gone".
enum POSIXFile {
    static func openFile(_ path: String, flags: Int32, mode: mode_t = 0o640) throws(SystemError) -> Int32 {
        let fd = path.withCString { open($0, flags | O_CLOEXEC, mode) }
        if fd < 0 { throw SystemError(operation: "open", path: path, errno: errno) }
        return fd
    }

    /// Writes all of `bytes` (looping over short writes and EINTR).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress! + offset, raw.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(operation: "write", path: path, errno: errno)
            }
            offset += n
        }
    }

    static func sync(_ fd: Int32, path: String) throws(SystemError) {
        if fsync(fd) != 0 { throw SystemError(operation: "fsync", path: path, errno: errno) }
    }

    /// Makes a new or removed directory entry durable.
    static func syncDirectory(_ path: String) throws(SystemError) {
        let fd = try openFile(path, flags: O_RDONLY)
        defer { closeFile(fd) }
        try sync(fd, path: path)
    }

    static func truncateFile(_ fd: Int32, to length: Int, path: String) throws(SystemError) {
        if ftruncate(fd, off_t(length)) != 0 { throw SystemError(operation: "truncate", path: path, errno: errno) }
    }

    static func fileSize(_ fd: Int32, path: String) throws(SystemError) -> Int {
        var s = stat()
        if fstat(fd, &s) != 0 { throw SystemError(operation: "stat", path: path, errno: errno) }
        return Int(s.st_size)
    }

    /// Reads `count` bytes at `offset` (fewer at the end of the file).
    static func readAt(_ fd: Int32, offset: Int, count: Int, path: String) throws(SystemError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { raw in pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(operation: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return Array(out[..<done])
    }

    static func closeFile(_ fd: Int32) { _ = close(fd) }
}
