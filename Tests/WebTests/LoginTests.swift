import Foundation
import Testing
import Access
import Control
import Model
@testable import Web

/// Logging in (the form and JSON), throttling, where a login goes on to, logging out, and carrying
/// a session to another blade with a transfer ticket.
@Suite struct LoginTests {
    static let formType = ["Content-Type": "application/x-www-form-urlencoded"]

    func form(_ app: WebApp, user: String = "admin", password: String = Fixture.password, next: String? = nil,
              from address: String = "127.0.0.1") -> Request {
        var body = "user=\(URLCoding.encodeComponent(user))&password=\(URLCoding.encodeComponent(password))"
        if let next { body += "&next=\(URLCoding.encodeComponent(next))" }
        return app.request("POST", "/login", as: .anonymous, body: body, headers: Self.formType, remoteAddress: address)
    }

    func json(_ app: WebApp, user: String = "admin", password: String = Fixture.password, from address: String = "127.0.0.1") -> Request {
        let body = String(decoding: try! JSONEncoder().encode(["user": user, "password": password]), as: UTF8.self)
        return app.request("POST", "/api/v1/session", as: .anonymous, body: body, headers: ["Content-Type": "application/json"],
                           remoteAddress: address)
    }

    /// The session a `Set-Cookie` starts.
    func session(_ response: Response) throws -> SessionToken {
        let header = try #require(response.header("Set-Cookie"))
        let pair = try #require(header.split(separator: ";").first)
        #expect(pair.hasPrefix(AccessSettings.cookieName + "="))
        return try #require(SessionToken.decode(String(pair.dropFirst(AccessSettings.cookieName.count + 1)), key: Fixture.key))
    }

    func expectSessionCookieAttributes(_ response: Response, sourceLocation: SourceLocation = #_sourceLocation) {
        let attributes = (response.header("Set-Cookie") ?? "").split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(Set(attributes).isSuperset(of: ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"]), "\(attributes)",
                sourceLocation: sourceLocation)
        #expect(!attributes.contains { $0.hasPrefix("Domain") }, "host-only", sourceLocation: sourceLocation)
    }

    // MARK: Success

    @Test func theFormLogsInAndGoesOn() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let source = MemoryStateSource()
        let response = app.handle(form(app, next: "/chassis/660007770088/slots/2", from: "10.0.0.5"), source: source)
        #expect(response.status == 303)
        #expect(response.header("Location") == "/chassis/660007770088/slots/2")
        expectSessionCookieAttributes(response)
        let session = try session(response)
        #expect(session.user == "admin" && session.generation == 1)
        #expect(session.startedAt == Int64(Fixture.now) && session.renewedAt == Int64(Fixture.now))
        #expect(control.requests == [.recordLogin(user: "admin", address: "10.0.0.5", success: true)])
        #expect(control.sent.first?.actor == Actor(user: "admin", role: .admin, address: "10.0.0.5", via: "login"))
        // The cookie opens the pages.
        let cookie = try #require(response.header("Set-Cookie")?.split(separator: ";").first).description
        let page = app.get("/", source, headers: ["Cookie": cookie], as: .anonymous)
        #expect(page.status == 200)
        #expect(page.bodyText.contains("data-user=\"admin\""))
    }

    @Test func jsonLogsInAndSaysWho() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let response = app.handle(json(app, user: "cust"), source: MemoryStateSource())
        #expect(response.status == 200)
        expectSessionCookieAttributes(response)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(object["user"] as? String == "cust")
        #expect(object["role"] as? String == "customer")
        #expect(object["slots"] as? [Int] == [2, 3])
        #expect(object["expiresAt"] as? Double == Fixture.now + 43_200)
        #expect(object["idleSeconds"] as? Int == 1_800)
        // A customer is never told another slot's blade address: only the chassis' names.
        #expect(object["members"] as? [String] == ["http://chassis.example:8080"])
        #expect(try session(response).user == "cust")
        let staff = app.handle(json(app, user: "admin"), source: MemoryStateSource())
        let staffObject = try #require(try JSONSerialization.jsonObject(with: Data(staff.body)) as? [String: Any])
        #expect(staffObject["members"] as? [String] == ["http://127.0.1.1:8080", "http://127.0.1.2:8080", "http://127.0.1.3:8080"])
        #expect(control.requests == [.recordLogin(user: "cust", address: "127.0.0.1", success: true),
                                     .recordLogin(user: "admin", address: "127.0.0.1", success: true)])
    }

    @Test func aLoginTheEngineCannotRecordDoesNotCount() throws {
        let control = RecordingControl()
        control.reply = ControlResponse(ok: false, error: "no quorum", code: 503)
        let app = try Fixture.app(control: control)
        let refused = app.handle(form(app), source: MemoryStateSource())
        #expect(refused.status == 503)
        #expect(refused.header("Set-Cookie") == nil)
        control.error = ControlClientError.timedOut
        let unreachable = app.handle(json(app), source: MemoryStateSource())
        #expect(unreachable.status == 503)
        #expect(unreachable.header("Set-Cookie") == nil)
    }

    // MARK: Failure

    @Test func aWrongPasswordIs401AndRecorded() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let page = app.handle(form(app, password: "wrong password", from: "10.0.0.6"), source: MemoryStateSource())
        #expect(page.status == 401)
        #expect(page.header("Content-Type") == MediaType.html)
        #expect(page.bodyText.contains("Wrong user name or password."))
        #expect(page.header("Set-Cookie") == nil)
        let api = app.handle(json(app, password: "wrong password", from: "10.0.0.6"), source: MemoryStateSource())
        #expect(api.status == 401)
        #expect(api.header("WWW-Authenticate") != nil)
        #expect(api.header("Set-Cookie") == nil)
        #expect(control.requests == [.recordLogin(user: "admin", address: "10.0.0.6", success: false),
                                     .recordLogin(user: "admin", address: "10.0.0.6", success: false)])
    }

    @Test func anUnknownUserIsTheSameFailure() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let response = app.handle(json(app, user: "nobody"), source: MemoryStateSource())
        #expect(response.status == 401)
        #expect(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String] == ["error": "wrong user name or password"])
        #expect(control.requests == [.recordLogin(user: "nobody", address: "127.0.0.1", success: false)])
        #expect(control.sent.first?.actor?.role == nil)
    }

    @Test(arguments: ["", String(repeating: "u", count: 65), "a\u{1}b"])
    func aMalformedUserNameIs400AndNotRecorded(user: String) throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        #expect(app.handle(json(app, user: user), source: MemoryStateSource()).status == 400)
        #expect(control.requests.isEmpty)
    }

    // MARK: Throttling

    static func locked(_ key: String, until: Double) -> MemoryStateSource {
        let source = MemoryStateSource()
        source.accessState.loginFailures[key] = LoginFailures(key: key, failures: 10, lastFailureAt: Fixture.now - 300,
                                                              lockedUntil: until)
        return source
    }

    @Test func aLockedUserIs429WithRetryAfterAndNoPasswordCheck() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let source = Self.locked(LoginFailures.userKey("admin"), until: Fixture.now + 600)
        // Even the right password: the throttle answers before the password is looked at, and
        // nothing is recorded (a locked account cannot be probed).
        let page = app.handle(form(app), source: source)
        #expect(page.status == 429)
        #expect(page.header("Retry-After") == "600")
        #expect(page.header("Set-Cookie") == nil)
        #expect(page.bodyText.contains("locked until"))
        let api = app.handle(json(app), source: source)
        #expect(api.status == 429)
        #expect(api.header("Retry-After") == "600")
        #expect(control.requests.isEmpty)
        // Another user is not locked by it.
        #expect(app.handle(json(app, user: "viewer"), source: source).status == 200)
    }

    @Test func aGrowingDelayIs429ForItsRemainingSeconds() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let source = MemoryStateSource()
        // Five failures: the next attempt waits 4 s after the last; one has passed.
        source.accessState.loginFailures["user:admin"] = LoginFailures(key: "user:admin", failures: 5, lastFailureAt: Fixture.now - 1,
                                                                       lockedUntil: nil)
        let response = app.handle(json(app, password: "wrong again"), source: source)
        #expect(response.status == 429)
        #expect(response.header("Retry-After") == "3")
        #expect(control.requests.isEmpty)
        let later = try Fixture.app(control: control, clock: Fixture.now + 3)
        #expect(later.handle(json(later), source: source).status == 200)
    }

    @Test func aLockedAddressIs429ForEveryUser() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let source = Self.locked(LoginFailures.addressKey("10.6.6.6"), until: Fixture.now + 100)
        for user in ["admin", "viewer", "nobody"] {
            let response = app.handle(json(app, user: user, from: "10.6.6.6"), source: source)
            #expect(response.status == 429, "\(user)")
            #expect(response.header("Retry-After") == "100")
        }
        #expect(control.requests.isEmpty)
        #expect(app.handle(json(app, from: "10.6.6.7"), source: source).status == 200)
    }

    @Test func anExpiredLockNoLongerHolds() throws {
        let app = try Fixture.app()
        let source = Self.locked(LoginFailures.userKey("admin"), until: Fixture.now - 1)
        #expect(app.handle(json(app), source: source).status == 200)
    }

    // MARK: Where a login goes on to

    static let offsite: [String] = [
        "//evil.example", "//evil.example/path", "https://evil.example", "http://evil.example/", "/\\evil.example",
        "/\\/evil.example", "\\\\evil.example", "evil.example", "javascript:alert(1)", "/login", "/login?next=//evil.example",
        "/logout", "/session/transfer", " //evil.example", "",
    ]

    @Test(arguments: offsite)
    func nextNeverLeavesTheChassis(next: String) throws {
        let app = try Fixture.app()
        let response = app.handle(form(app, next: next), source: MemoryStateSource())
        #expect(response.status == 303)
        #expect(response.header("Location") == "/", "next \(next) → \(response.header("Location") ?? "-")")
        // Logged in already, the login page sends on at once: the same rule.
        let again = app.get("/login?next=\(URLCoding.encodeComponent(next))", MemoryStateSource(), as: .session(.viewer))
        #expect(again.status == 303)
        #expect(again.header("Location") == "/")
    }

    @Test(arguments: ["/chassis/660007770088/slots/2", "/api/v1/chassis?x=1", "/%2F%2Fevil.example", "/a\tb"])
    func aLocalNextIsKeptAsALocalPath(next: String) throws {
        let location = WebApp.safeNext(next)
        #expect(location.hasPrefix("/") && !location.hasPrefix("//") && !location.contains("\\"))
        #expect(location.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }, "\(location)")
    }

    @Test func theLoginPageCarriesOnlyASafeNext() throws {
        let app = try Fixture.app()
        let page = app.get("/login?next=\(URLCoding.encodeComponent("https://evil.example"))", MemoryStateSource(), as: .anonymous)
        #expect(page.status == 200)
        #expect(page.bodyText.contains("name=\"next\" value=\"/\""))
        #expect(!page.bodyText.contains("evil.example"))
        let kept = app.get("/login?next=%2Fchassis%2F660007770088%2Fslots%2F3", MemoryStateSource(), as: .anonymous)
        #expect(kept.bodyText.contains("name=\"next\" value=\"/chassis/660007770088/slots/3\""))
    }

    @Test func anAnonymousPageIsSentToLogInWithARelativeNext() throws {
        let app = try Fixture.app()
        let response = app.get("/chassis/660007770088/slots/2?from=x", MemoryStateSource(), as: .anonymous)
        #expect(response.status == 303)
        #expect(response.header("Location") == "/login?next=%2Fchassis%2F660007770088%2Fslots%2F2%3Ffrom%3Dx")
        #expect(response.header("Cache-Control") == "no-store")
    }

    // MARK: Logout

    @Test func logoutEndsTheSessionEverywhere() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let session = Fixture.session(.operator)
        let response = app.handle(app.request("POST", "/logout", as: .anonymous,
                                              headers: ["Cookie": Fixture.cookie(session), "Origin": Fixture.origin]),
                                  source: MemoryStateSource())
        #expect(response.status == 303)
        #expect(response.header("Location") == "/login")
        #expect(response.header("Set-Cookie")?.contains("Max-Age=0") == true)
        let until = Double(session.startedAt + Fixture.policy.lifetimeSeconds)
        #expect(control.requests == [.endSession(id: session.id, user: "oper", until: until)])
        #expect(control.sent.first?.actor?.user == "oper")
        // Once the engine has applied it, the cookie no longer opens anything.
        let source = MemoryStateSource()
        source.accessState.revokedSessions[session.id] = until
        source.version = "v2"
        let after = app.get("/", source, headers: ["Cookie": Fixture.cookie(session)], as: .anonymous)
        #expect(after.status == 303)
        #expect(after.header("Location") == "/login")
    }

    @Test func deletingTheSessionIsLogoutForScripts() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let response = app.send("DELETE", "/api/v1/session", MemoryStateSource(), as: .session(.viewer))
        #expect(response.status == 200)
        #expect(response.header("Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(control.requests == [.endSession(id: Fixture.session(.viewer).id, user: "viewer", until: Fixture.now + 43_200)])
    }

    @Test func aLogoutTheEngineCannotRecordSaysSo() throws {
        let control = RecordingControl()
        control.reply = ControlResponse(ok: false, error: "no quorum", code: 503)
        let app = try Fixture.app(control: control)
        let response = app.send("POST", "/logout", MemoryStateSource(), as: .session(.viewer))
        #expect(response.status == 503)
        #expect(response.header("Location") == nil)
    }

    // MARK: Transfer tickets

    func ticket(_ app: WebApp, _ source: MemoryStateSource, cookie: String) throws -> String {
        let response = app.handle(app.request("POST", "/api/v1/session/ticket", as: .anonymous,
                                              headers: ["Cookie": cookie, "Origin": Fixture.origin]), source: source)
        #expect(response.status == 200, "\(response.bodyText)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(object["expiresAt"] as? Double == app.now().rounded(.down) + 90)
        let ticket = try #require(object["ticket"] as? String)
        #expect(!ticket.contains(cookie.dropFirst(AccessSettings.cookieName.count + 1)), "the ticket is not the cookie")
        return ticket
    }

    func transfer(_ app: WebApp, _ source: MemoryStateSource, ticket: String, next: String = "/chassis/660007770088/slots/2") -> Response {
        app.handle(app.request("POST", "/session/transfer", as: .anonymous,
                               body: "ticket=\(URLCoding.encodeComponent(ticket))&next=\(URLCoding.encodeComponent(next))",
                               headers: Self.formType.merging(["Origin": "http://127.0.1.2:8080"]) { $1 }),
                   source: source)
    }

    @Test func aTicketWorksOnceAndCarriesTheSameSession() throws {
        let app = try Fixture.app()
        let source = MemoryStateSource()
        let original = Fixture.session(.viewer)
        let text = try ticket(app, source, cookie: Fixture.cookie(original))
        let first = transfer(app, source, ticket: text)
        #expect(first.status == 200)
        expectSessionCookieAttributes(first)
        let carried = try session(first)
        #expect(carried.id == original.id && carried.user == "viewer" && carried.startedAt == original.startedAt)
        #expect(carried.generation == original.generation)
        #expect(first.bodyText.contains("data-transfer-next=\"/chassis/660007770088/slots/2\""))
        let second = transfer(app, source, ticket: text)
        #expect(second.status == 303)
        #expect(second.header("Location") == "/login?next=%2Fchassis%2F660007770088%2Fslots%2F2")
        #expect(second.header("Set-Cookie") == nil)
    }

    @Test func anExpiredTicketFails() throws {
        let source = MemoryStateSource()
        let text = try ticket(try Fixture.app(), source, cookie: Fixture.cookie(Fixture.session(.viewer)))
        let late = try Fixture.app(clock: Fixture.now + 90)
        let response = transfer(late, source, ticket: text)
        #expect(response.status == 303)
        #expect(response.header("Set-Cookie") == nil)
        // Just in time, it works.
        #expect(transfer(try Fixture.app(clock: Fixture.now + 89), source, ticket: text).status == 200)
    }

    @Test func aTicketOfAUserWhoseGenerationMovedFails() throws {
        let source = MemoryStateSource()
        let text = try ticket(try Fixture.app(), source, cookie: Fixture.cookie(Fixture.session(.viewer)))
        let changed = MemoryStateSource()
        changed.accessState.users["viewer"] = Fixture.user(.viewer, generation: 2)
        let response = transfer(try Fixture.app(), changed, ticket: text)
        #expect(response.status == 303)
        #expect(response.header("Set-Cookie") == nil)
        let removed = MemoryStateSource()
        removed.accessState.users["viewer"] = nil
        #expect(transfer(try Fixture.app(), removed, ticket: text).status == 303)
    }

    @Test func aTicketOfALoggedOutSessionFails() throws {
        let source = MemoryStateSource()
        let original = Fixture.session(.viewer)
        let text = try ticket(try Fixture.app(), source, cookie: Fixture.cookie(original))
        let revoked = MemoryStateSource()
        revoked.accessState.revokedSessions[original.id] = Fixture.now + 40_000
        #expect(transfer(try Fixture.app(), revoked, ticket: text).status == 303)
    }

    @Test(arguments: ["", "t1.nonsense", "garbage"])
    func aForgedTicketFails(text: String) throws {
        let response = transfer(try Fixture.app(), MemoryStateSource(), ticket: text)
        #expect(response.status == 303)
        #expect(response.header("Set-Cookie") == nil)
    }

    @Test func aTransferGoesOnToALocalPathOnly() throws {
        let app = try Fixture.app()
        let source = MemoryStateSource()
        let text = try ticket(app, source, cookie: Fixture.cookie(Fixture.session(.viewer)))
        let response = transfer(app, source, ticket: text, next: "//evil.example")
        #expect(response.status == 200)
        #expect(response.bodyText.contains("data-transfer-next=\"/\""))
        #expect(!response.bodyText.contains("evil.example"))
    }

    /// A session in use for longer than the idle timeout (30 min) must still cross to the next
    /// active manager: it was renewed a moment ago, and the ticket was made from it just now.
    @Test func aLongRunningSessionCanBeTransferred() throws {
        let app = try Fixture.app()
        let source = MemoryStateSource()
        let session = SessionToken(id: "00112233445566778899aabbccddeeff", user: "viewer", generation: 1,
                                   startedAt: Int64(Fixture.now) - 3_600, renewedAt: Int64(Fixture.now) - 5)
        #expect(app.get("/", source, headers: ["Cookie": Fixture.cookie(session)], as: .anonymous).status == 200,
                "the session itself is alive")
        let text = try ticket(app, source, cookie: Fixture.cookie(session))
        let response = transfer(app, source, ticket: text)
        #expect(response.status == 200, "a session older than the idle timeout is refused at the transfer: \(response.header("Location") ?? "")")
    }
}
