#if canImport(Glibc)
import Glibc
#endif

/// The chassis' shared secret on this blade, that every other key derives from: the cluster key
/// file (`[cluster] key_file`: hex, or at least 16 raw bytes), or on a single blade without one,
/// a random secret of its own (`local.key` in the state directory, made by the engine at its
/// first start).
public enum ChassisSecret {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    static let fileBytesMax = 4_096

    /// Reads a cluster key file: 32 or more hex digits, or at least 16 raw bytes.
    public static func clusterKey(path: String) throws -> [UInt8] {
        guard let data = read(path) else { throw Problem("cannot read the cluster key file \(path)") }
        var text = data[...]
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        while let first = text.first, isSpace(first) { text = text.dropFirst() }
        while let last = text.last, isSpace(last) { text = text.dropLast() }
        // ASCII hex digits only (never fullwidth ones).
        if text.count >= 32, text.count % 2 == 0,
           text.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x46) || ($0 >= 0x61 && $0 <= 0x66) }) {
            func value(_ byte: UInt8) -> UInt8 {
                byte <= 0x39 ? byte - 0x30 : (byte >= 0x61 ? byte - 0x61 + 10 : byte - 0x41 + 10)
            }
            var bytes: [UInt8] = []
            var index = text.startIndex
            while index < text.endIndex {
                bytes.append(value(text[index]) << 4 | value(text[index + 1]))
                index += 2
            }
            return bytes
        }
        guard data.count >= 16 else { throw Problem("the cluster key in \(path) is shorter than 16 bytes") }
        return data
    }

    public static func localSecretPath(stateDir: String) -> String { stateDir + "/local.key" }

    /// The cluster key if one is configured, else this blade's local secret (nil when the engine
    /// has not made it yet and `create` is false).
    public static func load(clusterKeyFile: String?, stateDir: String, create: Bool) throws -> [UInt8] {
        if let clusterKeyFile { return try clusterKey(path: clusterKeyFile) }
        let path = localSecretPath(stateDir: stateDir)
        if let data = read(path), data.count >= 32 { return data }
        guard create else { throw Problem("no cluster key and no \(path) yet (the engine makes it at its first start)") }
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try writeAtomically(path: path, contents: secret, mode: 0o600)
        return secret
    }

    /// A whole small file, or nil.
    static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1_024)
        while bytes.count <= fileBytesMax {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            bytes += chunk.prefix(count)
        }
        return nil
    }

    /// Writes a temporary file with the mode set before any byte is in it, syncs it, then renames it.
    public static func writeAtomically(path: String, contents: [UInt8], mode: mode_t) throws {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Problem("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        fchmod(fd, mode)
        var offset = 0
        while offset < contents.count {
            let written = contents[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { break }
            offset += written
        }
        let synced = fsync(fd)
        close(fd)
        guard offset == contents.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw Problem("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        // The rename itself lasts only once the directory is on disk too.
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let directoryFD = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }
}
