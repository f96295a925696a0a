import Certificates
import Config
import Control
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Model
import Store

/// The chassis' own certificate authority and this blade's HTTPS certificate.
///
/// The first active manager creates the authority (ECDSA P-256, ten years) and puts it in the
/// replicated log with its private key sealed (AES-GCM) under a key derived from the cluster key:
/// every blade can issue its own certificate from it, and the key is never in the log in clear.
/// Every blade then keeps a certificate signed by it for its own address and the chassis'
/// configured names, renewed 45 days before it ends (it lives 90), and runs the operator's reload
/// command so nginx serves the new one. Until the authority arrives, a blade serves a provisional
/// self-signed certificate so that nginx can start. An operator's own certificate
/// (`[access] certificate_file`) replaces all of this.
final class CertificateService {
    struct Paths {
        let directory: String
        var certificate: String { directory + "/blade.crt" }
        var key: String { directory + "/blade.key" }
        var authority: String { directory + "/ca.crt" }
        /// Unix seconds when the certificate in force ends, for the expiry collector.
        var notAfter: String { directory + "/blade.crt.not-after" }

        init(_ config: BladeConfig) { directory = config.paths.stateDir + "/tls" }
    }

    static let authorityCertificateSetting = "tls.ca.certificate"
    static let authorityKeySetting = "tls.ca.key"

    let config: BladeConfig
    let store: StoreWriter
    let logger: Logger
    let paths: Paths
    private let sealingKey: [UInt8]
    private var proposing = false
    /// Set while the reload command runs (off the event loop).
    private var reloading = false

    init(config: BladeConfig, store: StoreWriter, rootSecret: [UInt8], logger: Logger) {
        self.config = config
        self.store = store
        self.logger = logger
        paths = Paths(config)
        sealingKey = rootSecret
    }

    var usesOperatorCertificate: Bool { config.access.certificateFile != nil }

    /// The names this blade's certificate must carry.
    var wantedNames: (dns: [String], ip: [String]) {
        let names = config.access.names
        let addresses = names.filter { IPv4.parse($0) != nil }
        return (names.filter { IPv4.parse($0) == nil }, Array(Set([config.blade.address] + addresses)).sorted())
    }

    /// Brings this blade's certificate up to date; on the active manager, creates the authority
    /// first if the chassis has none. Runs on the engine's loop.
    func check(isActive: Bool, now: Double, propose: (ClusterCommand, @escaping (ControlResponse) -> Void) -> Void) {
        do {
            if usesOperatorCertificate {
                try noteExpiry(of: try String(contentsOfFile: config.access.certificateFile ?? "", encoding: .utf8))
                return
            }
            guard let authority = try store.setting(Self.authorityCertificateSetting),
                  let sealed = try store.setting(Self.authorityKeySetting) else {
                try ensureProvisional(now: now)
                if isActive && !proposing { try proposeAuthority(now: now, propose: propose) }
                return
            }
            try ensureIssued(authorityPEM: authority, sealedKey: sealed, now: now)
        } catch {
            logger.error("certificates", metadata: ["error": "\(error)"])
        }
    }

    private func proposeAuthority(now: Double, propose: (ClusterCommand, @escaping (ControlResponse) -> Void) -> Void) throws {
        var random = SystemRandomNumberGenerator()
        let created = try ChassisAuthority.create(chassisID: config.chassis.id, chassisName: config.chassis.name,
                                                  now: Date(timeIntervalSince1970: now), using: &random)
        let key = SealedSecret.derivedKey(clusterKey: sealingKey, purpose: SealedSecret.caKeyPurpose)
        let sealed = try SealedSecret.seal(Array(created.privateKeyPEM.utf8), key: key, using: &random)
        proposing = true
        logger.notice("creating the chassis certificate authority")
        propose(.setCertificateAuthority(certificatePEM: created.certificatePEM, sealedKey: sealed, at: now)) { [weak self] response in
            self?.proposing = false
            if !response.ok {
                self?.logger.warning("certificate authority not committed", metadata: ["error": "\(response.error ?? "")"])
            }
        }
    }

    /// A self-signed certificate for the time before the authority exists, so nginx can start.
    private func ensureProvisional(now: Double) throws {
        guard !FileManager.default.fileExists(atPath: paths.certificate) else { return }
        var random = SystemRandomNumberGenerator()
        let date = Date(timeIntervalSince1970: now)
        let throwaway = try ChassisAuthority.create(chassisID: config.chassis.id, chassisName: "provisional", now: date,
                                                    validityDays: 2, using: &random)
        let names = wantedNames
        let issued = try ChassisAuthority.issue(caCertificatePEM: throwaway.certificatePEM, caPrivateKeyPEM: throwaway.privateKeyPEM,
                                                commonName: config.blade.name, dnsNames: names.dns, ipAddresses: names.ip,
                                                now: date, validityDays: 1, using: &random)
        try install(issued, authorityPEM: nil)
        logger.notice("provisional self-signed certificate written; waiting for the chassis certificate authority")
    }

    private func ensureIssued(authorityPEM: String, sealedKey: String, now: Double) throws {
        let authority = try CertificateSummary.parse(pem: authorityPEM)
        let names = wantedNames
        let date = Date(timeIntervalSince1970: now)
        if let current = try? String(contentsOfFile: paths.certificate, encoding: .utf8),
           let summary = try? CertificateSummary.parse(pem: current),
           summary.renewalReason(wantedDNSNames: names.dns, wantedIPAddresses: names.ip, currentCA: authority, now: date) == nil {
            if !FileManager.default.fileExists(atPath: paths.authority) {
                try WebKeyFile.writeAtomically(path: paths.authority, contents: Array(authorityPEM.utf8), mode: 0o644)
            }
            try noteExpiry(of: current)
            return
        }
        let key = SealedSecret.derivedKey(clusterKey: sealingKey, purpose: SealedSecret.caKeyPurpose)
        let authorityKey = String(decoding: try SealedSecret.open(sealedKey, key: key), as: UTF8.self)
        var random = SystemRandomNumberGenerator()
        let issued = try ChassisAuthority.issue(caCertificatePEM: authorityPEM, caPrivateKeyPEM: authorityKey,
                                                commonName: config.blade.name, dnsNames: names.dns, ipAddresses: names.ip,
                                                now: date, using: &random)
        try install(issued, authorityPEM: authorityPEM)
        logger.notice("certificate issued by the chassis authority", metadata: ["names": "\(names.dns + names.ip)"])
    }

    /// Writes the key first, then the certificate (each atomically), then tells nginx.
    private func install(_ issued: CertificateAndKey, authorityPEM: String?) throws {
        try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: true)
        try WebKeyFile.writeAtomically(path: paths.key, contents: Array(issued.privateKeyPEM.utf8), mode: 0o640)
        try WebKeyFile.writeAtomically(path: paths.certificate, contents: Array(issued.certificatePEM.utf8), mode: 0o644)
        if let authorityPEM {
            try WebKeyFile.writeAtomically(path: paths.authority, contents: Array(authorityPEM.utf8), mode: 0o644)
        }
        // A provisional certificate's short life is no alert: the expiry is noted only for the
        // authority's certificates (the collector reports nothing until then).
        if authorityPEM == nil {
            unlink(paths.notAfter)
        } else {
            try noteExpiry(of: issued.certificatePEM)
        }
        reload()
    }

    private func noteExpiry(of pem: String) throws {
        let summary = try CertificateSummary.parse(pem: pem)
        let text = "\(Int64(summary.notAfter.timeIntervalSince1970))\n"
        if (try? String(contentsOfFile: paths.notAfter, encoding: .utf8)) != text {
            try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: true)
            try WebKeyFile.writeAtomically(path: paths.notAfter, contents: Array(text.utf8), mode: 0o644)
        }
    }

    /// Runs `[access] reload_command` off the loop (nginx re-reads its certificate on SIGHUP).
    private func reload() {
        guard let command = config.access.reloadCommand, !reloading else { return }
        reloading = true
        let logger = self.logger
        DispatchQueue.global().async { [weak self] in
            let (status, output) = HookRunner.execute(command, environment: [:], timeoutSeconds: 10)
            if status != 0 {
                logger.warning("reload command failed", metadata: ["status": "\(status.map(String.init) ?? "timeout")",
                                                                  "output": "\(output.prefix(300))"])
            }
            self?.reloading = false
        }
    }
}
