import Foundation
import Testing
@testable import Model

@Suite struct NotificationTargetsTests {
    func decode(_ text: String) throws -> NotificationTargets {
        try JSONDecoder().decode(NotificationTargets.self, from: Data(text.utf8))
    }

    @Test func aFullSetDecodesWithDefaults() throws {
        let targets = try decode("""
            {"alertmanager": [{"url": "http://127.0.0.1:9093"}],
             "syslog": [{"host": "127.0.0.1", "transport": "tcp"}],
             "email": [{"server": "mail.example.com", "username": "noc", "password": "s3cret", "from": "cm@example.com",
                        "to": ["noc@example.com"]}],
             "hooks": [{"command": "logger -t chassis \\"$CHASSIS_SUMMARY\\""}]}
            """)
        #expect(targets.problem() == nil)
        #expect(targets.syslog[0].port == 514 && targets.syslog[0].facility == 3)
        #expect(targets.email[0].port == 587 && targets.email[0].security == .starttls)
        #expect(targets.hooks[0].timeoutSeconds == 10 && targets.hooks[0].minimumSeverity == .warning)
        #expect(targets.ids.count == 4 && Set(targets.ids).count == 4)
        #expect(targets.withoutSecrets.email[0].password == nil)
        #expect(try decode(#"{"email": [{"server": "m", "security": "tls", "from": "a@b", "to": ["c@d"]}]}"#).email[0].port == 465)
    }

    @Test func anIDDependsOnWhatTheTargetAddressesOnly() throws {
        let a = AlertmanagerTarget(url: "http://127.0.0.1:9093", minimumSeverity: .warning)
        let b = AlertmanagerTarget(url: "http://127.0.0.1:9093", minimumSeverity: .critical)
        let c = AlertmanagerTarget(url: "http://127.0.0.1:9094")
        #expect(a.id == b.id && a.id != c.id && a.id.hasPrefix("alertmanager-") && a.id.count == "alertmanager-".count + 16)
    }

    @Test(arguments: [
        (#"{"alertmanager": [{"url": "ftp://x"}]}"#, "alertmanager[0].url must start with http:// or https://"),
        (#"{"alertmanager": [{"url": "http://user:pw@x:9093"}]}"#, "alertmanager[0].url must not carry a user or password"),
        (#"{"alertmanager": [{"url": "http://x:99999"}]}"#, "alertmanager[0].url has a port that is not a number from 1 to 65535"),
        (#"{"alertmanager": [{"url": "http://x/a b"}]}"#, "alertmanager[0].url has a path with characters a URL path does not take"),
        (#"{"syslog": [{"host": "evil host"}]}"#, "syslog[0].host must be a host name or an IPv4 address"),
        (#"{"syslog": [{"host": "h", "port": 0}]}"#, "syslog[0].port must be from 1 to 65535"),
        (#"{"syslog": [{"host": "h", "facility": 24}]}"#, "syslog[0].facility must be from 0 to 23"),
        (#"{"email": [{"server": "m", "from": "a@b", "to": []}]}"#, "email[0].to must name at least one recipient"),
        (#"{"email": [{"server": "m", "from": "a@b", "to": ["x>@y"]}]}"#, "email[0].to[0] must be an address like name@example.com"),
        (#"{"email": [{"server": "m", "from": "a@b", "to": ["c@d"], "password": "p"}]}"#, "email[0].password needs a username"),
        (#"{"email": [{"server": "m", "from": "a@b", "to": ["c@d"], "caFile": "ca.pem"}]}"#, "email[0].caFile must be an absolute path"),
        (#"{"hooks": [{"command": "  "}]}"#, "hooks[0].command is empty"),
        (#"{"hooks": [{"command": "a\nb"}]}"#, "hooks[0].command must be one line"),
        (#"{"hooks": [{"command": "true", "timeoutSeconds": 0}]}"#, "hooks[0].timeoutSeconds must be more than 0 and at most 300"),
        (#"{"hooks": [{"command": "true"}, {"command": "true"}]}"#, "the same target is listed twice"),
    ])
    func badTargetsNameTheField(text: String, problem: String) throws {
        #expect(try decode(text).problem() == problem)
    }

    @Test func unknownFieldsAndTooManyTargetsAreRefused() throws {
        #expect(throws: (any Error).self) { try decode(#"{"pager": []}"#) }
        #expect(throws: (any Error).self) { try decode(#"{"syslog": [{"host": "h", "prot": 1}]}"#) }
        let many = NotificationTargets(hooks: (0...8).map { HookTarget(command: "true \($0)") })
        #expect(many.problem() == "hooks: at most 8 targets")
    }
}
