#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import ChassisKeys
import Config

/// The web app's session key, written by the engine at start into the runtime directory
/// (`web.key`, 64 hex digits, mode 0640): derived from the cluster key, so every blade of the
/// chassis writes the same one and a session started on one blade is valid on all; the web app,
/// which faces the network, never reads the cluster key itself. A single blade without a cluster
/// key derives it from a random secret of its own (`local.key` in the state directory).
enum WebKeyFile {
    static func write(config: BladeConfig, clusterKey: [UInt8]?) throws {
        let key = webKey(try rootSecret(config: config, clusterKey: clusterKey))
        try ChassisSecret.writeAtomically(path: config.paths.webKey, contents: Array((Hex.encode(key) + "\n").utf8), mode: 0o640)
    }

    static func webKey(_ rootSecret: [UInt8]) -> [UInt8] {
        KeyDerivation.derive(from: rootSecret, purpose: KeyDerivation.webSessionsPurpose)
    }

    /// The chassis' shared secret that every other key derives from: the cluster key, or on a
    /// single blade without one, a random secret of its own (made here at the first start).
    static func rootSecret(config: BladeConfig, clusterKey: [UInt8]?) throws -> [UInt8] {
        if let clusterKey { return clusterKey }
        return try ChassisSecret.load(clusterKeyFile: nil, stateDir: config.paths.stateDir, create: true)
    }
}

/// The web app's site key (`site.key`, 64 hex digits, mode 0640), derived from `[site] key_file`
/// when the configuration lists other chassis of the site: the web app signs and checks the
/// site's questions, summaries and tickets with keys derived from it, and never reads the
/// operator's key file. Without a site, a stale file from an earlier configuration is removed.
enum SiteKeyFile {
    static func write(config: BladeConfig) throws {
        guard let keyFile = config.site.keyFile, !config.site.chassis.isEmpty else {
            unlink(config.paths.siteKey)
            return
        }
        let secret: [UInt8]
        do {
            secret = try ChassisSecret.clusterKey(path: keyFile)
        } catch {
            throw ChassisSecret.Problem("[site] key_file: \(error)")
        }
        let key = KeyDerivation.derive(from: secret, purpose: KeyDerivation.sitePurpose)
        try ChassisSecret.writeAtomically(path: config.paths.siteKey, contents: Array((Hex.encode(key) + "\n").utf8), mode: 0o640)
    }
}

