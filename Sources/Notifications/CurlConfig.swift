/// A configuration for `curl -K -` (read from its standard input), so that a URL's password, an
/// SMTP login and a request body never appear in a process's arguments, where any local user
/// could read them.
public struct CurlConfig: Sendable, Equatable {
    public private(set) var lines: [String] = []

    public init() {}

    /// `name = "value"` with the escapes curl's quoted strings take.
    public mutating func set(_ name: String, _ value: String) {
        var quoted = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { continue }
                quoted.unicodeScalars.append(scalar)
            }
        }
        lines.append("\(name) = \"\(quoted)\"")
    }

    /// A switch without a value (`fail`, `ssl-reqd`).
    public mutating func flag(_ name: String) {
        lines.append(name)
    }

    public var bytes: [UInt8] { Array((lines.joined(separator: "\n") + "\n").utf8) }
}
