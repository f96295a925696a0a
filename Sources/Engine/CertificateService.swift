import ChassisKeys
import Config
import Control
import Crypto
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
import Metrics
import Model
import NIOCore
import Store
import Plumbing

/// The chassis' own certificate authority and this blade's HTTPS certificate.
///
/// The first active manager has an authority made (ECDSA P-256, ten years) and puts it in the
/// replicated log with its private key sealed (AES-GCM) under a key derived from the cluster key:
/// every blade can issue its own certificate from it, and the key is never in the log in clear.
/// Every blade then keeps a certificate signed by it for its own address and the chassis'
/// configured names, renewed 45 days before it ends (it lives 90), and runs the operator's reload
/// command so nginx serves the new one. Until the authority arrives, a blade serves a provisional
/// self-signed certificate so that nginx can start. An operator's own certificate
/// (`[access] certificate_file`) replaces all of this.
///
/// The engine decides when; `chassisctl certificate …` does the X.509 work in a process of its
/// own, so that none of that code is resident in the engine (with it linked in, the engine's RSS
/// grew from 18.7 to 23.8 MB, `make bench-web`). The engine reads only the notes it leaves
/// (`blade.crt.meta`: the end, the authority's SHA-256 and the names).
final class CertificateService {
    /// A certificate is renewed this long before it ends.
    static let renewBeforeSeconds = 45.0 * 86_400
    static let toolTimeoutSeconds = 60.0

    let config: BladeConfig
    let store: StoreWriter
    let logger: Logger
    let loop: EventLoop
    let tool: String
    /// A tool run is under way (one at a time).
    private var running = false
    private var proposing = false
    private var expiryNotedAt = -Double.infinity

    private let clock: HostClock

    init(config: BladeConfig, store: StoreWriter, loop: EventLoop, logger: Logger, clock: HostClock) {
        self.clock = clock
        self.config = config
        self.store = store
        self.loop = loop
        self.logger = logger
        tool = Self.executableDirectory() + "/chassisctl"
    }

    static func executableDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: 4_096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "." }
        let path = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
    }

    /// This blade's address and the chassis' configured names, as the notes list them.
    var wantedNames: Set<String> {
        let names = config.certificateNames
        return Set(names.dns + names.ip)
    }

    /// Brings this blade's certificate up to date; on the active manager, has the authority made
    /// first if the chassis has none. Runs on the engine's loop; the work runs off it.
    func check(isActive: Bool, now: Double, propose: @escaping (ClusterCommand, @escaping (ControlResponse) -> Void) -> Void) {
        guard !running else { return }
        if config.access.certificateFile != nil {
            guard now - expiryNotedAt > 86_400 else { return }
            expiryNotedAt = now
            run("note-expiry") { _, _ in }
            return
        }
        let authority: String?
        do {
            authority = try store.setting(CertificateSettings.authorityCertificate)
        } catch {
            return logger.error("certificates", metadata: ["error": "\(error)"])
        }
        guard let authority else {
            if access(config.paths.certificate, F_OK) != 0 {
                run("provisional") { [weak self] ok, _ in if ok { self?.reload() } }
            } else if isActive && !proposing {
                proposing = true
                logger.notice("making the chassis certificate authority")
                run("authority") { [weak self] ok, output in
                    guard let self else { return }
                    guard ok, let made = try? JSONDecoder().decode([String: String].self, from: Data(output)),
                          let certificate = made["certificatePEM"], let sealed = made["sealedKey"] else {
                        self.proposing = false
                        return
                    }
                    propose(.setCertificateAuthority(certificatePEM: certificate, sealedKey: sealed, at: self.clock.wallSeconds())) {
                        [weak self] response in
                        self?.proposing = false
                        if !response.ok {
                            self?.logger.warning("certificate authority not committed", metadata: ["error": "\(response.error ?? "")"])
                        }
                    }
                }
            }
            return
        }
        if isDue(authority: authority, now: now) {
            run("issue") { [weak self] ok, _ in if ok { self?.reload() } }
        }
    }

    /// Whether the notes say the certificate must be (re)issued: none, another authority, other
    /// names, or an end within 45 days.
    func isDue(authority: String, now: Double) -> Bool {
        guard let text = try? String(contentsOfFile: config.paths.certificateMeta, encoding: .utf8) else { return true }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.count >= 3, let notAfter = Double(lines[0]) else { return true }
        return lines[1] != Hex.encode(Array(SHA256.hash(data: Array(authority.utf8)))) || notAfter - Self.renewBeforeSeconds <= now || Set(lines.dropFirst(2)) != wantedNames
    }

    /// Runs `chassisctl certificate SUBCOMMAND --config FILE` off the loop; `done` runs on the loop.
    private func run(_ subcommand: String, done: @escaping (Bool, [UInt8]) -> Void) {
        running = true
        let command = "\(Self.quoted(tool)) certificate \(subcommand) --config \(Self.quoted(config.file))"
        let logger = self.logger
        let loop = self.loop
        DispatchQueue.global().async {
            let result = ShellCommand.run(command, timeoutSeconds: Self.toolTimeoutSeconds, includeErrors: false)
            let ok = result.status == 0
            if ok {
                if subcommand != "authority" {
                    logger.notice("certificate", metadata: ["step": "\(subcommand)", "result": "\(result.text.split(separator: "\n").first ?? "")"])
                }
            } else {
                logger.error("certificate step failed", metadata: [
                    "step": "\(subcommand)", "status": "\(result.status.map(String.init) ?? "killed")",
                    "error": "\(result.failure ?? (subcommand == "authority" ? "" : String(result.text.prefix(300))))"])
            }
            loop.execute { [weak self] in
                self?.running = false
                done(ok, result.output)
            }
        }
    }

    /// Runs `[access] reload_command` off the loop (nginx re-reads its certificate on SIGHUP).
    private func reload() {
        guard let command = config.access.reloadCommand else { return }
        let logger = self.logger
        DispatchQueue.global().async {
            let result = ShellCommand.run(command, timeoutSeconds: 10)
            if result.status != 0 {
                logger.warning("reload command failed", metadata: ["status": "\(result.status.map(String.init) ?? "killed")",
                                                                  "output": "\(result.text.prefix(300))"])
            }
        }
    }

    static func quoted(_ text: String) -> String { "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'" }
}
