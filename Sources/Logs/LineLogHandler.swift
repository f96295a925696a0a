#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// A program's log lines on standard error, each written with one `write` when it is logged
/// (nothing is buffered, so nothing dies with a SIGKILLed process).
///
/// Under systemd, when standard error is the journal (`JOURNAL_STREAM` names its device and
/// inode), each line starts with its syslog priority (`<3>` for an error) and carries no
/// timestamp: journald records the time, and `journalctl -p warning` finds the warnings.
/// Otherwise (a terminal, the demo's log files) each line starts with the time and the level.
public struct LineLogHandler: LogHandler {
    public let label: String
    public let journal: Bool
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    public init(label: String, level: Logger.Level, environment: [String: String]) {
        self.label = label
        self.logLevel = level
        self.journal = Self.standardErrorIsJournal(environment["JOURNAL_STREAM"])
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Bootstraps swift-log with this handler for the whole process, at the level
    /// `CHASSIS_LOG_LEVEL` gives (info by default).
    public static func bootstrap(environment: [String: String]) {
        let level = environment["CHASSIS_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level, environment: environment) }
    }

    /// True when `stream` ("DEVICE:INODE", as systemd sets it) is the file standard error is.
    static func standardErrorIsJournal(_ stream: String?) -> Bool {
        guard let parts = stream?.split(separator: ":"), parts.count == 2,
              let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var status = stat()
        guard fstat(2, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// syslog(3) priorities.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
             source: String, file: String, function: String, line: UInt) {
        var merged = metadata
        if let explicit { merged.merge(explicit) { _, new in new } }
        var text = journal ? "<\(Self.priority(level))>" : "\(Self.timestamp()) \(level) "
        text += "\(label): \(message)"
        for key in merged.keys.sorted() {
            text += " \(key)=\(merged[key].map { "\($0)" } ?? "")"
        }
        // One line is one line: a value with a line break must not forge another.
        var bytes = Array(text.utf8).map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
        bytes.append(0x0A)
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(2, base + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// ISO 8601 local time with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let milliseconds = Int(now.tv_nsec / 1_000_000)
        let fraction = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(fraction)"
    }
}
