import Model

/// A notice as an RFC 5424 syslog message, and its framing on TCP (RFC 6587 octet counting).
///
/// `<PRI>1 TIMESTAMP HOST chassis-manager - MSGID [chassis@32473 …] BOM MSG`: the priority from
/// the facility and the event (critical 2, warning 4, cleared 5, info 6), the event's kind as
/// MSGID, and the chassis, slot, module, alert and stable id as structured data (32473 is the
/// enterprise number RFC 5612 reserves for examples: a site with its own number can map it).
public enum SyslogMessage {
    public static let appName = "chassis-manager"
    public static let structuredDataID = "chassis@32473"
    /// A message on UDP is kept under this many bytes (RFC 5426 asks receivers for at least 480,
    /// and most take 2048); the text is cut, never the header.
    public static let datagramBytesMax = 2_048

    public static func severityCode(_ notice: Notice) -> Int {
        switch (notice.event.kind, notice.event.severity) {
        case (.alertCleared, _): return 5
        case (_, .critical): return 2
        case (_, .warning): return 4
        case (_, .info): return 6
        }
    }

    public static func render(_ notice: Notice, facility: Int, hostname: String) -> [UInt8] {
        let priority = facility * 8 + severityCode(notice)
        var parameters: [(String, String)] = [("id", notice.id), ("chassis", notice.chassisName), ("chassisId", notice.chassisID),
                                              ("slot", notice.event.slotID.map(String.init) ?? "chassis"),
                                              ("severity", notice.event.severity.rawValue)]
        if let module = notice.module { parameters.append(("module", module)) }
        if let alert = notice.event.alertID { parameters.append(("alert", String(alert))) }
        if let metric = notice.event.metricKey { parameters.append(("metric", metric)) }
        let data = "[" + structuredDataID + parameters.map { " \($0.0)=\"\(escape($0.1))\"" }.joined() + "]"
        let header = "<\(priority)>1 \(timestamp(notice.event.at)) \(headerField(hostname, max: 255)) \(appName) - "
            + "\(headerField(notice.event.kind.rawValue, max: 32)) \(data) "
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        var bytes = Array(header.utf8) + bom
        let room = max(0, datagramBytesMax - bytes.count)
        bytes += utf8Prefix(notice.summary, bytesMax: room)
        return bytes
    }

    /// `LENGTH SP MESSAGE`, as RFC 6587 frames messages on a stream.
    public static func octetCounted(_ message: [UInt8]) -> [UInt8] {
        Array("\(message.count) ".utf8) + message
    }

    /// `2026-12-04T22:58:14.123Z`.
    static func timestamp(_ at: Double) -> String {
        let seconds = at.rounded(.down)
        let millis = Int(((at - seconds) * 1_000).rounded(.down))
        let base = Format.isoTime(seconds).dropLast()
        let fraction = String(millis + 1_000).dropFirst()
        return "\(base).\(fraction)Z"
    }

    /// A header field: printable ASCII without spaces, `-` when empty.
    static func headerField(_ text: String, max: Int) -> String {
        let kept = text.unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7F }.prefix(max)
        return kept.isEmpty ? "-" : String(String.UnicodeScalarView(kept))
    }

    /// A PARAM-VALUE: `"`, `\` and `]` escaped with a backslash; control characters dropped.
    static func escape(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars where scalar.value >= 0x20 && scalar.value != 0x7F {
            if scalar == "\"" || scalar == "\\" || scalar == "]" { out.append("\\") }
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    /// At most `bytesMax` bytes of `text`, cut at a character's start, control characters as spaces.
    static func utf8Prefix(_ text: String, bytesMax: Int) -> [UInt8] {
        var out: [UInt8] = []
        for scalar in text.unicodeScalars {
            let piece = Array(String(scalar.value < 0x20 || scalar.value == 0x7F ? " " : Character(scalar)).utf8)
            if out.count + piece.count > bytesMax { break }
            out += piece
        }
        return out
    }
}
