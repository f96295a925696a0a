
/// Pure formatting of values and times for pages; `Public/app.js` mirrors these rules.
public enum Format {
    /// A value with its unit, e.g. `45.0 °C`, `3.2 GiB`, `12.5 %`.
    public static func value(_ value: Double?, text: String?, fault: String?, unit: String) -> String {
        if let fault, value == nil, text == nil { return "fault: " + fault }
        if let text, value == nil { return text }
        guard let value else { return "—" }
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf") }
        switch unit {
        case "celsius": return fixed(value, 1) + " °C"
        case "rpm": return fixed(value, 0) + " RPM"
        case "volts": return fixed(value, 3) + " V"
        case "watts": return fixed(value, 1) + " W"
        case "amperes": return fixed(value, 2) + " A"
        case "percent": return fixed(value, 1) + " %"
        case "bytes": return binary(value, suffix: "")
        case "bytes_per_second": return binary(value, suffix: "/s")
        case "seconds": return duration(value)
        case "ratio": return fixed(value, 3)
        case "state": return value >= 0.5 ? "OK" : "FAILED"
        case "hertz": return fixed(value / 1_000_000, 0) + " MHz"
        case "per_second": return fixed(value, 2) + " /s"
        case "count": return fixed(value, 0)
        default:
            return trimmed(value) + (unit.isEmpty || unit == "text" ? "" : " " + unit)
        }
    }

    /// A bare number for a limit, in the unit's display scale (no unit symbol).
    public static func limit(_ value: Double?, unit: String) -> String {
        guard let value else { return "—" }
        return Self.value(value, text: nil, fault: nil, unit: unit)
    }

    public static func unitSymbol(_ unit: String) -> String {
        switch unit {
        case "celsius": return "°C"
        case "rpm": return "RPM"
        case "volts": return "V"
        case "watts": return "W"
        case "amperes": return "A"
        case "percent": return "%"
        case "bytes": return "bytes"
        case "bytes_per_second": return "bytes/s"
        case "seconds": return "s"
        case "per_second": return "/s"
        case "state", "text", "ratio", "count": return ""
        default: return unit
        }
    }

    /// Fixed-point without Foundation's locale-dependent formatters.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf") }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        // Too large for fixed point: Swift's shortest form (`1e+300`). Not `trimmed`, which
        // comes back here for such values: the recursion overflowed the stack (a sensor reading
        // of 1e16 would have crashed the page that shows it).
        guard scaled < 9.0e15 else { return "\(value)" }
        let whole = UInt64(scaled)
        let integerPart = whole / UInt64(scale)
        let fraction = whole % UInt64(scale)
        let sign = value < 0 && whole != 0 ? "-" : ""
        if digits == 0 { return sign + String(integerPart) }
        var fractionText = String(fraction)
        while fractionText.count < digits { fractionText = "0" + fractionText }
        return sign + String(integerPart) + "." + fractionText
    }

    static func trimmed(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return fixed(value, 3)
    }

    static func binary(_ value: Double, suffix: String) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var scaled = value
        var index = 0
        while abs(scaled) >= 1024, index < units.count - 1 {
            scaled /= 1024
            index += 1
        }
        return (index == 0 ? fixed(scaled, 0) : fixed(scaled, 1)) + " " + units[index] + suffix
    }

    static func duration(_ seconds: Double) -> String {
        if abs(seconds) < 60 { return fixed(seconds, 1) + " s" }
        // Beyond a million years (or not a number) a value is no duration: shown, never trapping.
        guard seconds.isFinite, abs(seconds) < 3e13 else { return fixed(seconds, 0) + " s" }
        let total = Int64(seconds.rounded())
        let days = total / 86_400
        let hours = (total % 86_400) / 3_600
        let minutes = (total % 3_600) / 60
        if days > 0 { return "\(days) d \(hours) h" }
        if hours > 0 { return "\(hours) h \(minutes) min" }
        return "\(minutes) min \(total % 60) s"
    }

    /// `2025-11-25 17:37:02 UTC`, from Unix seconds, without Foundation's formatters.
    /// Times outside years 1 to 9999 are not shown (and never trap the conversion to Int64).
    public static let timeRange: ClosedRange<Double> = -62_135_596_800 ... 253_402_300_799

    public static func time(_ unixSeconds: Double?) -> String {
        guard let unixSeconds, unixSeconds.isFinite, timeRange.contains(unixSeconds) else { return "—" }
        let whole = Int64(unixSeconds.rounded(.down))
        var days = whole / 86_400
        var rest = whole % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        let (year, month, day) = civil(fromDays: days)
        return "\(year)-\(two(month))-\(two(day)) \(two(Int(rest / 3_600))):\(two(Int(rest % 3_600 / 60))):\(two(Int(rest % 60))) UTC"
    }

    /// ISO 8601 for `<time datetime>`.
    public static func isoTime(_ unixSeconds: Double?) -> String {
        let text = time(unixSeconds)
        guard text != "—" else { return "" }
        return String(text.dropLast(4)).replacingFirstSpace(with: "T") + "Z"
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// Howard Hinnant's days-from-civil inverse.
    static func civil(fromDays days: Int64) -> (Int64, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (m <= 2 ? y + 1 : y, m, d)
    }

    public static func statusText(_ status: Status) -> String {
        switch status {
        case .ok: return "OK"
        case .unknown: return "Unknown"
        case .warning: return "Warning"
        case .critical: return "Critical"
        case .down: return "Down"
        case .off: return "Off"
        }
    }
}

extension String {
    fileprivate func replacingFirstSpace(with replacement: Character) -> String {
        guard let index = firstIndex(of: " ") else { return self }
        var copy = self
        copy.replaceSubrange(index...index, with: String(replacement))
        return copy
    }
}

extension StringProtocol {
    /// Without leading and trailing white space (newlines included).
    public var trimmedWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
