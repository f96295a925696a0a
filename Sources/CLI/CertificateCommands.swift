import ArgumentParser
import Certificates
import ChassisKeys
import Config
import Crypto
import Foundation
import Model
import Store

/// The chassis' certificate authority and this blade's HTTPS certificate, for the operator and
/// for the engine, which runs these commands when something must change (so that the X.509 code
/// is not resident in the engine: it grew the engine by 5 MB).
///
/// - `status`: the certificate in force, its names, issuer and end.
/// - `authority`: makes a new authority and prints it as JSON, its private key sealed under a key
///   derived from the cluster key (the engine proposes it to the replicated log).
/// - `issue`: issues this blade a certificate from the chassis' authority (read from the store)
///   when it has none, it ends within 45 days, its names or authority changed, or `--force`.
/// - `provisional`: a self-signed certificate until the authority exists, so nginx can start.
/// - `note-expiry`: notes when the operator's own certificate ends, for the expiry metric.
struct CertificateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificate", abstract: "The chassis' certificate authority and this blade's HTTPS certificate.",
        subcommands: [Status.self, Authority.self, Issue.self, Provisional.self, NoteExpiry.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The certificate this blade serves.")
        @OptionGroup var target: BladeOptions

        func run() throws {
            let config = try target.load()
            let files = CertificateFiles(config)
            let path = config.access.certificateFile ?? files.certificate
            let summary = try CertificateSummary.parse(pem: try String(contentsOfFile: path, encoding: .utf8))
            print("certificate  \(path)")
            print("subject      \(summary.subject)")
            print("issuer       \(summary.issuer)")
            print("names        \((summary.dnsNames + summary.ipAddresses).joined(separator: ", "))")
            print("valid        \(Format.isoTime(summary.notBefore)) to \(Format.isoTime(summary.notAfter))")
            print("sha256       \(summary.sha256Fingerprint)")
        }
    }

    struct Authority: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a certificate authority for the chassis; print it as JSON with its key sealed.")
        @OptionGroup var target: BladeOptions

        func run() throws {
            let config = try target.load()
            var random = SystemRandomNumberGenerator()
            let created = try ChassisAuthority.create(chassisID: config.chassis.id, chassisName: config.chassis.name,
                                                      now: Date(), using: &random)
            let sealed = try SealedSecret.seal(Array(created.privateKeyPEM.utf8), key: try CertificateFiles.sealingKey(config),
                                               using: &random)
            let document = ["certificatePEM": created.certificatePEM, "sealedKey": sealed]
            try printJSON(document, pretty: false)
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue this blade's certificate from the chassis' authority when it is due; print what was done.")
        @OptionGroup var target: BladeOptions
        @Flag(help: "Issue a new certificate even if the one in force is good.") var force = false

        func run() throws {
            let config = try target.load()
            let files = CertificateFiles(config)
            let reader = StoreReader(configDatabase: config.paths.configDatabase, metricsDatabase: config.paths.metricsDatabase,
                                     staleAfterSeconds: config.web.staleAfterSeconds)
            guard let authorityPEM = try reader.setting(CertificateSettings.authorityCertificate),
                  let sealedKey = try reader.setting(CertificateSettings.authoritySealedKey) else {
                throw ValidationError("the chassis has no certificate authority yet (the active manager makes it)")
            }
            let authority = try CertificateSummary.parse(pem: authorityPEM)
            let names = files.wantedNames
            let now = Date()
            if !force, let current = try? String(contentsOfFile: files.certificate, encoding: .utf8),
               let summary = try? CertificateSummary.parse(pem: current),
               summary.renewalReason(wantedDNSNames: names.dns, wantedIPAddresses: names.ip, currentCA: authority, now: now) == nil {
                try files.writeMeta(summary, authorityPEM: authorityPEM)
                try files.writeAuthority(authorityPEM)
                print("current until \(Format.isoTime(summary.notAfter))")
                return
            }
            let authorityKey = String(decoding: try SealedSecret.open(sealedKey, key: try CertificateFiles.sealingKey(config)),
                                      as: UTF8.self)
            var random = SystemRandomNumberGenerator()
            let issued = try ChassisAuthority.issue(caCertificatePEM: authorityPEM, caPrivateKeyPEM: authorityKey,
                                                    commonName: config.blade.name, dnsNames: names.dns, ipAddresses: names.ip,
                                                    now: now, using: &random)
            try files.install(issued, authorityPEM: authorityPEM)
            let summary = try CertificateSummary.parse(pem: issued.certificatePEM)
            print("issued until \(Format.isoTime(summary.notAfter)) for \((names.dns + names.ip).joined(separator: ", "))")
        }
    }

    struct Provisional: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A self-signed certificate for the time before the chassis has its authority (only if there is none).")
        @OptionGroup var target: BladeOptions

        func run() throws {
            let config = try target.load()
            let files = CertificateFiles(config)
            guard !FileManager.default.fileExists(atPath: files.certificate) else { return print("a certificate exists") }
            var random = SystemRandomNumberGenerator()
            let now = Date()
            let throwaway = try ChassisAuthority.create(chassisID: config.chassis.id, chassisName: "provisional", now: now,
                                                        validityDays: 2, using: &random)
            let names = files.wantedNames
            let issued = try ChassisAuthority.issue(caCertificatePEM: throwaway.certificatePEM,
                                                    caPrivateKeyPEM: throwaway.privateKeyPEM, commonName: config.blade.name,
                                                    dnsNames: names.dns, ipAddresses: names.ip, now: now, validityDays: 1,
                                                    using: &random)
            try files.install(issued, authorityPEM: nil)
            print("provisional self-signed certificate written")
        }
    }

    struct NoteExpiry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "note-expiry", abstract: "Note when the operator's own certificate ends, for the expiry metric.")
        @OptionGroup var target: BladeOptions

        func run() throws {
            let config = try target.load()
            guard let path = config.access.certificateFile else { throw ValidationError("no [access] certificate_file") }
            let summary = try CertificateSummary.parse(pem: try String(contentsOfFile: path, encoding: .utf8))
            try CertificateFiles(config).writeMeta(summary, authorityPEM: nil)
            print("ends \(Format.isoTime(summary.notAfter))")
        }
    }
}

/// Where a blade keeps its certificate (`state_dir/tls`), and what the engine reads of it.
struct CertificateFiles {
    let config: BladeConfig
    var directory: String { config.paths.tlsDir }
    var certificate: String { config.paths.certificate }
    var key: String { config.paths.certificateKey }
    var authority: String { config.paths.certificateAuthority }
    /// `NOTAFTER` (Unix seconds) of the certificate in force, for the expiry collector.
    var notAfter: String { config.paths.certificateNotAfter }
    /// What the engine compares to decide that a certificate is due: `NOTAFTER`, the
    /// authority's SHA-256, then the names, one per line.
    var meta: String { config.paths.certificateMeta }

    init(_ config: BladeConfig) { self.config = config }

    /// This blade's address and the chassis' configured names.
    var wantedNames: (dns: [String], ip: [String]) { config.certificateNames }

    static func sealingKey(_ config: BladeConfig) throws -> SymmetricKey {
        let secret = try ChassisSecret.load(clusterKeyFile: config.cluster.keyFile, stateDir: config.paths.stateDir, create: false)
        return SealedSecret.derivedKey(clusterKey: secret, purpose: SealedSecret.caKeyPurpose)
    }

    /// The key first, then the certificate (each written atomically), then the authority and
    /// the notes. A provisional certificate leaves no notes: its short life is no alert.
    func install(_ issued: CertificateAndKey, authorityPEM: String?) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try ChassisSecret.writeAtomically(path: key, contents: Array(issued.privateKeyPEM.utf8), mode: 0o640)
        try ChassisSecret.writeAtomically(path: certificate, contents: Array(issued.certificatePEM.utf8), mode: 0o644)
        if let authorityPEM {
            try writeAuthority(authorityPEM)
            try writeMeta(try CertificateSummary.parse(pem: issued.certificatePEM), authorityPEM: authorityPEM)
        } else {
            unlink(notAfter)
            unlink(meta)
        }
    }

    func writeAuthority(_ pem: String) throws {
        if (try? String(contentsOfFile: authority, encoding: .utf8)) != pem {
            try ChassisSecret.writeAtomically(path: authority, contents: Array(pem.utf8), mode: 0o644)
        }
    }

    func writeMeta(_ summary: CertificateSummary, authorityPEM: String?) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let seconds = Int64(summary.notAfter.timeIntervalSince1970)
        let digest = authorityPEM.map { CertificateFiles.digest($0) } ?? "-"
        let lines = ["\(seconds)", digest] + (summary.dnsNames.map { $0.lowercased() } + summary.ipAddresses).sorted()
        try ChassisSecret.writeAtomically(path: meta, contents: Array((lines.joined(separator: "\n") + "\n").utf8), mode: 0o644)
        try ChassisSecret.writeAtomically(path: notAfter, contents: Array("\(seconds)\n".utf8), mode: 0o644)
    }

    static func digest(_ pem: String) -> String {
        Hex.encode(Array(SHA256.hash(data: Array(pem.utf8))))
    }
}

extension Format {
    static func isoTime(_ date: Date) -> String { isoTime(date.timeIntervalSince1970) }
}
