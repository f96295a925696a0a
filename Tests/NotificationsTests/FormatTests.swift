import Foundation
import Model
import Testing
@testable import Notifications

@Suite struct SyslogMessageTests {
    let event = ChassisEvent(id: 42, at: 1_764_892_694.25, kind: .alertRaised, severity: .critical, slotID: 3, alertID: 7,
                             metricKey: "hwmon.coretemp-isa-0000.temp1", message: "Core 0 above 95 °C")

    func notice(_ event: ChassisEvent) -> Notice {
        Notice(event: event, chassisID: "660007770088", chassisName: "Row C \"east\"]", module: "SN-3")
    }

    @Test func aRaisedCriticalAlertIsAnRFC5424Message() {
        let text = String(decoding: SyslogMessage.render(notice(event), facility: 3, hostname: "blade 1"), as: UTF8.self)
        // PRI = daemon (3) * 8 + critical (2); version 1; the time to the millisecond in UTC.
        #expect(text.hasPrefix("<26>1 2025-12-04T23:58:14.250Z blade1 chassis-manager - alert.raised [chassis@32473 "))
        #expect(text.contains("id=\"660007770088-42\""))
        #expect(text.contains("chassis=\"Row C \\\"east\\\"\\]\""), "quotes and ] escaped in a PARAM-VALUE")
        #expect(text.contains("slot=\"3\"") && text.contains("module=\"SN-3\"") && text.contains("alert=\"7\""))
        #expect(text.contains("] \u{FEFF}[Row C \"east\"]] CRITICAL raised, slot 3: Core 0 above 95 °C"))
    }

    @Test func severityCodes() {
        var cleared = event
        cleared.kind = .alertCleared
        var info = event
        (info.kind, info.severity) = (.moduleInserted, .info)
        var warning = event
        warning.severity = .warning
        #expect(SyslogMessage.severityCode(notice(event)) == 2)
        #expect(SyslogMessage.severityCode(notice(warning)) == 4)
        #expect(SyslogMessage.severityCode(notice(cleared)) == 5)
        #expect(SyslogMessage.severityCode(notice(info)) == 6)
        let local7 = String(decoding: SyslogMessage.render(notice(info), facility: 23, hostname: "b"), as: UTF8.self)
        #expect(local7.hasPrefix("<190>1 "))
    }

    @Test func aHostileMessageStaysOneBoundedLine() {
        var hostile = event
        hostile.message = "line one\nline two\r\u{0}" + String(repeating: "é", count: 3_000)
        let bytes = SyslogMessage.render(notice(hostile), facility: 3, hostname: "blade\n1")
        #expect(bytes.count <= SyslogMessage.datagramBytesMax)
        #expect(!bytes.contains(0x0A) && !bytes.contains(0x0D) && !bytes.contains(0))
        #expect(String(validatingUTF8: bytes.map { CChar(bitPattern: $0) } + [0]) != nil, "cut at a character's start")
    }

    @Test func tcpFramingCountsOctets() {
        #expect(SyslogMessage.octetCounted(Array("<14>1 x".utf8)) == Array("7 <14>1 x".utf8))
    }
}

@Suite struct MailMessageTests {
    func notice(_ id: Int64, _ message: String, severity: EventSeverity = .warning) -> Notice {
        Notice(event: ChassisEvent(id: id, at: 1_764_892_694, kind: .alertRaised, severity: severity, slotID: 2, alertID: id,
                                   metricKey: "cpu.usage", message: message),
               chassisID: "C1", chassisName: "Chassis", link: "https://127.0.1.1:8443/alerts?slot=2&state=all")
    }

    @Test func oneNoticeIsOneMessageWithAStableID() {
        let text = String(decoding: MailMessage.render([notice(5, "CPU high")], from: "cm@example.com", to: ["noc@example.com"],
                                                       at: 1_764_892_694), as: UTF8.self)
        #expect(text.contains("Subject: [Chassis] WARNING raised, slot 2: CPU high\r\n"))
        #expect(text.contains("Message-ID: <C1-5@chassis-manager>\r\n"))
        #expect(text.contains("Date: Thu, 04 Dec 2025 23:58:14 +0000\r\n"))
        #expect(text.contains("\r\n\r\n[Chassis] WARNING raised"), "the body after an empty line")
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "every line ends in CRLF")
    }

    @Test func manyNoticesAreOneDigest() {
        let notices = [notice(5, "CPU high"), notice(6, "fan slow", severity: .critical), notice(7, "disk full")]
        let text = String(decoding: MailMessage.render(notices, from: "cm@example.com", to: ["a@example.com", "b@example.com"],
                                                       at: 0), as: UTF8.self)
        #expect(text.contains("Subject: [Chassis] 3 changes (worst: critical)\r\n"))
        #expect(text.contains("Message-ID: <C1-5-7@chassis-manager>\r\n"))
        #expect(text.contains("To: a@example.com, b@example.com\r\n"))
        #expect(text.contains("X-Chassis-Events: C1-5 C1-6 C1-7\r\n"))
    }

    @Test func aForgedHeaderCannotBeInjected() {
        let text = String(decoding: MailMessage.render([notice(5, "x\r\nBcc: victim@example.com")], from: "cm@example.com",
                                                       to: ["noc@example.com"], at: 0), as: UTF8.self)
        #expect(!text.contains("\r\nBcc:"))
        #expect(MailMessage.encodedHeader("Température élevée") == "=?utf-8?b?VGVtcMOpcmF0dXJlIMOpbGV2w6ll?=")
    }
}

@Suite struct CurlConfigTests {
    @Test func valuesAreQuotedSoThatNoneEndsTheLine() {
        var config = CurlConfig()
        config.set("user", "noc:pa\"ss\\word\nurl = \"http://evil\"")
        config.flag("ssl-reqd")
        #expect(config.lines == ["user = \"noc:pa\\\"ss\\\\word\\nurl = \\\"http://evil\\\"\"", "ssl-reqd"])
        #expect(String(decoding: config.bytes, as: UTF8.self).split(separator: "\n").count == 2)
    }
}

@Suite struct AlertmanagerAlertsTests {
    @Test func openAndClearedAlertsWithTheirLabels() throws {
        let open = Alert(id: 1, slotID: 2, metricKey: "hwmon.coretemp-isa-0000.temp1", metricLabel: "Core 0", severity: .critical,
                         message: "hot", value: 101, raisedAt: 1_000, clearedAt: nil, acknowledgedAt: nil, acknowledgedBy: nil)
        var cleared = open
        (cleared.id, cleared.slotID, cleared.clearedAt) = (2, nil, 1_500)
        let context = AlertmanagerAlerts.Context(chassisID: "C1", chassisName: "Chassis", modules: [2: "SN-2"],
                                                 baseURL: "https://127.0.1.1:8443")
        let body = try AlertmanagerAlerts.body([open, cleared], context: context, now: 2_000)
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]])
        #expect(entries.count == 2)
        #expect(entries[0]["labels"] as? [String: String] == [
            "alertname": "ChassisHwmonCoretempIsa0000Temp1", "chassis": "Chassis", "chassis_id": "C1", "slot": "2",
            "metric": "hwmon.coretemp-isa-0000.temp1", "severity": "critical", "module": "SN-2"])
        #expect(entries[0]["startsAt"] as? String == "1970-01-01T00:16:40.000Z")
        #expect(entries[0]["endsAt"] as? String == "1970-01-01T00:36:20.000Z", "open: now + 180 s, renewed on each send")
        #expect(entries[1]["endsAt"] as? String == "1970-01-01T00:25:00.000Z", "cleared: when it cleared")
        #expect((entries[1]["labels"] as? [String: String])?["slot"] == "chassis")
        #expect(entries[0]["generatorURL"] as? String == "https://127.0.1.1:8443/alerts?slot=2&state=all")
    }
}
