#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Config
import ChassisKeys

/// The web app's session key, written by the engine at start into the runtime directory
/// (`web.key`, 64 hex digits, mode 0640): derived from the cluster key, so every blade of the
/// chassis writes the same one and a session started on one blade is valid on all; the web app,
/// which faces the network, never reads the cluster key itself. A single blade without a cluster
/// key derives it from a random secret of its own (`local.key` in the state directory).
enum WebKeyFile {
    static func path(_ config: BladeConfig) -> String { config.paths.runtimeDir + "/web.key" }

    static func write(config: BladeConfig, clusterKey: [UInt8]?) throws {
        let key = webKey(try rootSecret(config: config, clusterKey: clusterKey))
        let text = key.map { byte -> String in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
        }.joined() + "\n"
        try writeAtomically(path: path(config), contents: Array(text.utf8), mode: 0o640)
    }

    static func webKey(_ rootSecret: [UInt8]) -> [UInt8] {
        KeyDerivation.derive(from: rootSecret, purpose: KeyDerivation.webSessionsPurpose)
    }

    /// The chassis' shared secret that every other key derives from: the cluster key, or on a
    /// single blade without one, a random secret of its own.
    static func rootSecret(config: BladeConfig, clusterKey: [UInt8]?) throws -> [UInt8] {
        try clusterKey ?? localSecret(config)
    }

    private static func localSecret(_ config: BladeConfig) throws -> [UInt8] {
        let path = config.paths.stateDir + "/local.key"
        if let data = FileManager.default.contents(atPath: path), data.count >= 32 { return Array(data) }
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try writeAtomically(path: path, contents: secret, mode: 0o600)
        return secret
    }

    /// Writes a temporary file with the mode set before any byte is in it, then renames it.
    static func writeAtomically(path: String, contents: [UInt8], mode: mode_t) throws {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw WebKeyError("cannot create \(temporary): errno \(errno)") }
        fchmod(fd, mode)
        let written = contents.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == contents.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw WebKeyError("cannot write \(path): errno \(errno)")
        }
    }

    struct WebKeyError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
