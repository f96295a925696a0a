#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Model

/// Notices as an Internet message (RFC 5322) for SMTP: one notice, or a digest of several when
/// many change at once. The `Message-ID` is made from the notices' stable ids, so a message sent
/// again after a failover has the same id and a mail system can drop the copy.
public enum MailMessage {
    /// A digest lists at most this many notices; more wait for the next message.
    public static let digestMax = 50

    public static func render(_ notices: [Notice], from: String, to: [String], at: Double) -> [UInt8] {
        guard let first = notices.first, let last = notices.last else { return [] }
        let subject: String
        if notices.count == 1 {
            subject = first.summary
        } else {
            let worst = notices.map(\.event.severity).max() ?? .info
            subject = "[\(first.chassisName)] \(notices.count) changes (worst: \(worst.rawValue))"
        }
        let idPart = notices.count == 1 ? first.id : "\(first.id)-\(last.event.id)"
        var lines = [
            "From: \(from)",
            "To: \(to.joined(separator: ", "))",
            "Subject: \(encodedHeader(String(subject.prefix(200))))",
            "Date: \(rfc5322Date(at))",
            "Message-ID: <\(idPart)@chassis-manager>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "Auto-Submitted: auto-generated",
            "X-Chassis-Events: \(notices.map(\.id).joined(separator: " "))",
            "",
        ]
        for notice in notices {
            lines.append(bodyLine(notice.summary))
            lines.append("  at \(Format.time(notice.event.at)); event \(notice.id)"
                         + (notice.module.map { "; module \($0)" } ?? "")
                         + (notice.event.metricKey.map { "; metric \($0)" } ?? ""))
            if let link = notice.link { lines.append("  \(link)") }
            lines.append("")
        }
        lines.append("-- ")
        lines.append("Chassis Manager, chassis \(first.chassisID)")
        return Array(lines.joined(separator: "\r\n").utf8) + [0x0D, 0x0A]
    }

    /// A body line without control characters and under SMTP's 998 bytes.
    static func bodyLine(_ text: String) -> String {
        String(decoding: SyslogMessage.utf8Prefix(text, bytesMax: 900), as: UTF8.self)
    }

    /// ASCII as it is; anything else as an RFC 2047 encoded word (base64 of UTF-8). Control
    /// characters (a forged line break) never reach the header.
    static func encodedHeader(_ text: String) -> String {
        let clean = String(decoding: SyslogMessage.utf8Prefix(text, bytesMax: 600), as: UTF8.self)
        if clean.unicodeScalars.allSatisfy({ $0.value < 0x7F }) { return clean }
        return "=?utf-8?b?" + Data(clean.utf8).base64EncodedString() + "?="
    }

    /// `Fri, 04 Dec 2026 22:58:14 +0000`.
    static func rfc5322Date(_ at: Double) -> String {
        let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let whole = Int64(min(max(at, Format.timeRange.lowerBound), Format.timeRange.upperBound).rounded(.down))
        let dayNumber = whole >= 0 ? whole / 86_400 : (whole - 86_399) / 86_400
        let weekday = days[Int(((dayNumber % 7) + 7) % 7)]
        let iso = Format.isoTime(Double(whole)) // 2026-12-04T22:58:14Z
        let parts = iso.dropLast().split(separator: "T")
        guard parts.count == 2 else { return iso }
        let date = parts[0].split(separator: "-")
        guard date.count == 3, let month = Int(date[1]), (1...12).contains(month) else { return iso }
        return "\(weekday), \(date[2]) \(months[month - 1]) \(date[0]) \(parts[1]) +0000"
    }
}
