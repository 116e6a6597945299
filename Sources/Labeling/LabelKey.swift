import Crypto
import Foundation

/// Loads the HMAC key that signs implicit labels.
///
/// The key is the bytes of the file (or the environment variable's value) as they are,
/// without one trailing newline; at least 32 bytes. `openssl rand -hex 32 > label.key` makes
/// a good one (64 ASCII characters, used as text, not decoded). Keeping the key as text means
/// an auditor can recompute a MAC with `openssl dgst -sha256 -hmac "$(cat label.key)"`.
public enum LabelKey {
    /// HMAC-SHA256 keys shorter than its 32-byte output weaken it.
    public static let minimumBytes = 32

    /// Reads the key from a file.
    public static func load(file path: String) throws(LabelError) -> SymmetricKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw .key(path, exists ? "cannot be read" : "no such file")
        }
        return try key(from: data, source: path)
    }

    /// Reads the key from an environment variable (`environment` is injectable for tests).
    public static func load(environmentVariable name: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(LabelError) -> SymmetricKey {
        guard let value = environment[name] else { throw .key("$\(name)", "the variable is not set") }
        return try key(from: Data(value.utf8), source: "$\(name)")
    }

    /// The key in `data` (one trailing `\n` or `\r\n` dropped), or an error naming `source`.
    public static func key(from data: Data, source: String) throws(LabelError) -> SymmetricKey {
        var bytes = [UInt8](data)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast(); if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() } }
        guard bytes.count >= minimumBytes else {
            throw .key(source, "\(bytes.count) bytes; at least \(minimumBytes) are needed (e.g. openssl rand -hex 32)")
        }
        return SymmetricKey(data: bytes)
    }
}
