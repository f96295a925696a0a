#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An operator's command with placeholders (`ipmitool -H {address} chassis power {action}`),
/// checked when the configuration is read: every `{name}` must be one the command is given.
/// Rendering quotes each value for `/bin/sh`, so a value can never become shell syntax, and the
/// same values go into the environment (`CHASSIS_SLOT` …) for scripts that prefer it.
public struct CommandTemplate: Sendable, Equatable, CustomStringConvertible {
    public let text: String

    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// The placeholders of the power and identify commands.
    public static let slotPlaceholders: Set<String> = ["slot", "address", "blade", "action"]

    public init(_ text: String, placeholders: Set<String>) throws {
        if text.utf8.count > 4_096 { throw Problem(description: "is longer than 4096 bytes") }
        if text.contains("\0") || text.contains("\n") { throw Problem(description: "must be one line") }
        for name in Self.names(in: text) where !placeholders.contains(name) {
            throw Problem(description: "has an unknown placeholder {\(name)} (known: \(placeholders.sorted().map { "{\($0)}" }.joined(separator: ", ")))")
        }
        self.text = text
    }

    public var description: String { text }

    /// The `{name}` placeholders in `text`, in order (a brace not around a plain name is left as it is).
    static func names(in text: String) -> [String] {
        var names: [String] = []
        var rest = text[...]
        while let open = rest.firstIndex(of: "{") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else { break }
            let name = after[..<close]
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0 == "_" }) { names.append(String(name)) }
            rest = after
        }
        return names
    }

    /// The command with each `{name}` replaced by its value, quoted for the shell.
    public func render(_ values: [String: String]) -> String {
        var out = ""
        var rest = text[...]
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            let after = rest[rest.index(after: open)...]
            if let close = after.firstIndex(of: "}"), let value = values[String(after[..<close])] {
                out += Self.shellQuoted(value)
                rest = after[after.index(after: close)...]
            } else {
                out += "{"
                rest = after
            }
        }
        return out + rest
    }

    /// `value` as one word of `/bin/sh`: in single quotes, each `'` written as `'\''`.
    public static func shellQuoted(_ value: String) -> String {
        "'" + value.split(separator: "'", omittingEmptySubsequences: false).joined(separator: #"'\''"#) + "'"
    }
}
