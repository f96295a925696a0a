#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Metrics
import Model
import Notifications
import Plumbing

/// Sends notices to one target, blocking (the notification service calls it off the event loop):
/// Alertmanager and mail through `curl` with its configuration on standard input (no secret in
/// an argument), syslog on its own socket, hooks through `/bin/sh`. Each returns nil when
/// delivered, else why not.
enum NotificationDelivery {
    static let curlTimeoutSeconds = 15.0

    static func alertmanager(_ target: AlertmanagerTarget, body: [UInt8]) -> String? {
        var config = CurlConfig()
        let base = target.url.hasSuffix("/") ? String(target.url.dropLast()) : target.url
        config.set("url", base + "/api/v2/alerts")
        config.set("request", "POST")
        config.set("header", "Content-Type: application/json")
        config.set("data-raw", String(decoding: body, as: UTF8.self))
        if let caFile = target.caFile { config.set("cacert", caFile) }
        return curl(config, timeoutSeconds: curlTimeoutSeconds)
    }

    static func email(_ target: EmailTarget, password: String?, message: [UInt8], runtimeDir: String) -> String? {
        var config = CurlConfig()
        let scheme = target.security == .tls ? "smtps" : "smtp"
        config.set("url", "\(scheme)://\(target.server):\(target.port)")
        if target.security == .starttls { config.flag("ssl-reqd") }
        if let caFile = target.caFile { config.set("cacert", caFile) }
        config.set("mail-from", target.from)
        for recipient in target.to { config.set("mail-rcpt", recipient) }
        if let username = target.username { config.set("user", "\(username):\(password ?? "")") }
        // The message goes in a file of the engine's own (curl reads its configuration on stdin).
        let path = "\(runtimeDir)/mail-\(getpid())-\(UInt64.random(in: 1...UInt64.max)).eml"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return "cannot write the message: \(String(cString: strerror(errno)))" }
        defer { unlink(path) }
        let written = message.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == message.count else { return "cannot write the message" }
        config.set("upload-file", path)
        return curl(config, timeoutSeconds: curlTimeoutSeconds)
    }

    static func hook(_ target: HookTarget, notice: Notice) -> String? {
        let result = ShellCommand.run(target.command, environment: HookEnvironment.variables(notice),
                                      timeoutSeconds: target.timeoutSeconds, outputBytesMax: 4_096)
        if let failure = result.failure { return failure }
        if result.timedOut { return "killed after \(target.timeoutSeconds) s" }
        guard result.status == 0 else {
            return "exit status \(result.status.map(String.init) ?? "signal"): \(result.text.suffix(200))"
        }
        return nil
    }

    /// Runs `curl -K -`; nil on success, else curl's own message (an HTTP error status included).
    static func curl(_ config: CurlConfig, timeoutSeconds: Double) -> String? {
        var full = config
        full.flag("silent")
        full.flag("show-error")
        full.flag("fail")
        full.set("max-time", String(Int(timeoutSeconds)))
        full.set("connect-timeout", "5")
        full.set("output", "/dev/null")
        let result = ShellCommand.run("exec curl -K -", timeoutSeconds: timeoutSeconds + 2, outputBytesMax: 2_048,
                                      input: full.bytes)
        if let failure = result.failure { return failure }
        if result.timedOut { return "no answer within \(Int(timeoutSeconds)) s" }
        guard result.status == 0 else {
            let text = result.text.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
            return "curl exit \(result.status.map(String.init) ?? "signal"): \(text.prefix(300))"
        }
        return nil
    }

    // MARK: syslog

    static func syslog(_ target: SyslogTarget, messages: [[UInt8]]) -> String? {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(target.transport == .udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(target.host, String(target.port), &hints, &found)
        guard status == 0, let first = found else {
            return "cannot resolve \(target.host): \(String(cString: gai_strerror(status)))"
        }
        defer { freeaddrinfo(found) }
        let descriptor = socket(first.pointee.ai_family, first.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return "socket: \(String(cString: strerror(errno)))" }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            return "connect to \(target.host):\(target.port): \(String(cString: strerror(errno)))"
        }
        for message in messages {
            let bytes = target.transport == .tcp ? SyslogMessage.octetCounted(message) : message
            var sent = 0
            while sent < bytes.count {
                let count = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return "send to \(target.host):\(target.port): \(String(cString: strerror(errno)))" }
                sent += count
            }
        }
        return nil
    }
}
