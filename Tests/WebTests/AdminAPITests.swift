import Foundation
import Testing
import Access
import Control
import Model
import Store
@testable import Web

/// The admins' API beyond users: login locks, the audit log as JSON, CSV and a page.
@Suite struct AdminAPITests {
    static func audit() -> [AuditRecord] {
        [
            AuditRecord(id: 3, at: Fixture.now - 10, actor: "admin", role: "admin", address: "10.0.0.1", via: "session",
                        action: "user.add", target: "user eve", old: nil, new: "{\"role\":\"viewer\"}"),
            AuditRecord(id: 2, at: Fixture.now - 20, actor: "=HYPERLINK(\"http://evil\")", role: "", address: "10.0.0.2", via: "login",
                        action: "login.failed", target: "user x", old: nil, new: nil),
            AuditRecord(id: 1, at: Fixture.now - 30, actor: "oper", role: "operator", address: "10.0.0.3", via: "token 0123456789abcdef",
                        action: "threshold.set", target: "threshold 4", old: "a,b", new: "say \"hi\"\nthere"),
        ]
    }

    @Test func theAuditLogAsJSONWithFilters() throws {
        let app = try Fixture.app()
        let source = MemoryStateSource()
        source.auditLog = Self.audit()
        let all = app.get("/api/v1/audit", source)
        #expect(all.status == 200)
        let decoded = try JSONDecoder().decode([String: [AuditRecord]].self, from: Data(all.body))
        #expect(decoded["records"] == Self.audit())
        #expect(source.auditQueries.last?.filter == AuditFilter())
        #expect(source.auditQueries.last?.limit == 500)
        let filtered = app.get("/api/v1/audit?actor=admin&action=user&since=2025-11-24T00:00:00Z&until=1764000000&limit=10", source)
        #expect(filtered.status == 200)
        #expect(source.auditQueries.last?.filter == AuditFilter(actor: "admin", action: "user", since: 1_763_942_400, until: 1_764_000_000))
        #expect(source.auditQueries.last?.limit == 10)
        for bad in ["limit=0", "limit=2001", "limit=x", "since=yesterday", "format=xml", "actor=a&actor=b", "bogus=1"] {
            #expect(app.get("/api/v1/audit?\(bad)", source).status == 400, "\(bad)")
        }
    }

    @Test func theAuditLogAsCSVIsSafeForSpreadsheets() throws {
        let app = try Fixture.app()
        let source = MemoryStateSource()
        source.auditLog = Self.audit()
        let response = app.get("/api/v1/audit?format=csv", source)
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/csv; charset=utf-8")
        #expect(response.header("Content-Disposition")?.contains("attachment") == true)
        let lines = response.bodyText.components(separatedBy: "\r\n")
        #expect(lines[0] == "id,time,actor,role,address,via,action,target,old,new")
        #expect(lines[1].hasPrefix(#"3,2025-11-24T15:59:50Z,admin,admin,10.0.0.1,session,user.add,user eve,,"{""role"""#))
        // A formula is defused with a leading quote; commas, quotes and line breaks are quoted.
        #expect(lines[2].hasPrefix(#"2,2025-11-24T15:59:40Z,"'=HYPERLINK(""http://evil"")","#))
        #expect(response.bodyText.contains(#""a,b","say ""hi""\#nthere""#))
        #expect(AuditCSV.field("+1") == "'+1" && AuditCSV.field("-1") == "'-1" && AuditCSV.field("@x") == "'@x")
        #expect(AuditCSV.field("plain") == "plain")
        // CRLF is one Character: still a line break, still quoted.
        #expect(AuditCSV.field("a\r\nb") == "\"a\r\nb\"" && AuditCSV.field("a\rb") == "\"a\rb\"")
    }

    @Test func theAuditPageFiltersAndLinksItsExports() throws {
        let app = try Fixture.app()
        let source = MemoryStateSource()
        source.auditLog = Self.audit()
        let page = app.get("/audit?action=login", source)
        #expect(page.status == 200)
        #expect(page.bodyText.contains("data-audit-id=\"2\""))
        #expect(!page.bodyText.contains("data-audit-id=\"3\""))
        #expect(page.bodyText.contains("href=\"/api/v1/audit?format=csv&amp;action=login\""))
        #expect(!page.bodyText.contains("=HYPERLINK(\"http"), "escaped in HTML")
    }

    @Test func loginLocksAreListedAndLifted() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let source = MemoryStateSource()
        source.accessState.loginFailures = [
            "user:oper": LoginFailures(key: "user:oper", failures: 10, lastFailureAt: Fixture.now - 10, lockedUntil: Fixture.now + 890),
            "address:10.0.0.9": LoginFailures(key: "address:10.0.0.9", failures: 4, lastFailureAt: Fixture.now - 1, lockedUntil: nil),
        ]
        let list = app.get("/api/v1/login-locks", source)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(list.body)) as? [String: [[String: Any]]])
        let counters = try #require(object["counters"])
        #expect(counters.map { $0["kind"] as? String } == ["address", "user"])
        #expect(counters.map { $0["name"] as? String } == ["10.0.0.9", "oper"])
        #expect(counters[1]["lockedUntil"] as? Double == Fixture.now + 890)
        #expect(counters[0]["lockedUntil"] == nil || counters[0]["lockedUntil"] is NSNull)
        // The users' list says who is locked.
        let users = try #require(try JSONSerialization.jsonObject(with: Data(app.get("/api/v1/users", source).body)) as? [String: [[String: Any]]])
        let oper = try #require(users["users"]?.first { $0["name"] as? String == "oper" })
        #expect(oper["lockedUntil"] as? Double == Fixture.now + 890)
        #expect(oper["failedLogins"] as? Int == 10)

        #expect(app.send("POST", "/api/v1/login-locks/lift", source, body: "{\"user\": \"oper\"}").status == 200)
        #expect(app.send("POST", "/api/v1/login-locks/lift", source, body: "{\"address\": \"10.0.0.9\"}").status == 200)
        let page = app.handle(app.request("POST", "/users", body: "action=unlock&key=user%3Aoper",
                                          headers: ["Content-Type": "application/x-www-form-urlencoded"]), source: source)
        #expect(page.status == 200)
        #expect(control.requests == [.liftLoginLock(user: "oper", address: nil), .liftLoginLock(user: nil, address: "10.0.0.9"),
                                     .liftLoginLock(user: "oper", address: nil)])
    }

    @Test func anAdminCannotRemoveItself() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        #expect(app.send("DELETE", "/api/v1/users/admin", MemoryStateSource()).status == 409)
        let page = app.handle(app.request("POST", "/users", body: "action=remove&name=admin",
                                          headers: ["Content-Type": "application/x-www-form-urlencoded"]), source: MemoryStateSource())
        #expect(page.status == 400)
        #expect(page.bodyText.contains("you cannot remove yourself"))
        #expect(control.requests.isEmpty)
        #expect(app.send("DELETE", "/api/v1/users/oper", MemoryStateSource()).status == 200)
        #expect(control.requests == [.removeUser(name: "oper")])
    }

    /// Found by schemathesis: an admin could take away its own role (and so the chassis' last admin).
    @Test func anAdminCannotChangeItsOwnRole() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let own = app.send("PATCH", "/api/v1/users/admin", MemoryStateSource(), body: #"{"role": "viewer"}"#)
        #expect(own.status == 409 && own.bodyText.contains("your own role"))
        #expect(control.requests.isEmpty)
        let other = app.send("PATCH", "/api/v1/users/oper", MemoryStateSource(), body: #"{"role": "viewer"}"#)
        #expect(other.status == 200)
        #expect(control.requests.count == 1)
    }

    /// Found by schemathesis: the engine's refusal of a notification test is answered as it is (409), not 502.
    @Test func aNotificationTestTheEngineRefusesKeepsItsStatus() throws {
        let control = RecordingControl()
        control.reply = ControlResponse(ok: false, error: "no notification targets are set", code: 409)
        let refused = try Fixture.app(control: control).send("POST", "/api/v1/notifications/test", MemoryStateSource(), body: "")
        #expect(refused.status == 409 && refused.bodyText.contains("no notification targets are set"))
        control.reply = ControlResponse(ok: false, error: "some targets failed", code: 502, report: ["hook-1 x: FAILED: exit 1"])
        let failed = try Fixture.app(control: control).send("POST", "/api/v1/notifications/test", MemoryStateSource(), body: "")
        #expect(failed.status == 502 && failed.bodyText.contains("FAILED: exit 1"))
    }

    @Test(arguments: ["0123456789ABCDEF", "0123", "zzzzzzzzzzzzzzzz", "0123456789abcdef0"])
    func aMalformedTokenIDIs400(id: String) throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        #expect(app.send("DELETE", "/api/v1/tokens/\(id)", MemoryStateSource()).status == 400)
        #expect(control.requests.isEmpty)
    }
}
