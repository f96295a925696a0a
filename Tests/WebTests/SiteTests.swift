import Foundation
import Testing
import Access
import Config
import Control
import Model
@testable import Web

/// The site: the summary one chassis seals for another, the site page, and the ticket that
/// carries a login to another chassis of the site.
@Suite struct SiteTests {
    static let root = [UInt8](repeating: 0x33, count: 32)
    static let keys = SiteKeys(root: root)
    static let otherID = "660007770089"
    static let other = BladeConfig.SiteChassis(name: "chassis-2", addresses: ["127.0.2.1", "127.0.2.2"], port: 8080, httpsPort: 8443)
    static let otherOrigin = "https://127.0.2.1:8443"

    static func board(root: [UInt8] = root) -> SiteBoard {
        SiteBoard(chassisID: Fixture.chassisID, siteName: "Lab", chassis: [other], loadKeys: { SiteKeys(root: root) })
    }

    static func app(control: RecordingControl = RecordingControl(), board: SiteBoard = board(),
                    access: AccessSettings = Fixture.settings()) throws -> WebApp {
        try Fixture.app(control: control, access: access, site: board)
    }

    static func question(at time: Double = Fixture.now, keys: SiteKeys = keys) -> (SiteCredential, [String: String]) {
        var random = SystemRandomNumberGenerator()
        let credential = SiteCredential.make(from: otherID, seconds: Int64(time), using: &random)
        return (credential, ["Authorization": SiteCredential.scheme + " " + credential.encode(keys: keys)])
    }

    static func otherSummary(activeURL: String? = otherOrigin) -> SiteSummary {
        SiteSummary(chassisID: otherID, name: "Row B chassis", location: "Lab / B", status: .warning, slots: 8, bladesUp: 3,
                    bladesDown: 1, alertsCritical: 0, alertsWarning: 2, alertsNew: 1, answeredBy: "blade1", answeredByActive: true,
                    activeManager: "blade1", activeURL: activeURL, activeAddress: "127.0.2.1", term: 4,
                    updatedAt: Fixture.now - 1, stale: false)
    }

    // MARK: The summary

    @Test func theSummaryIsSealedForTheQuestionAndSaysWhatThePageShows() throws {
        let (credential, headers) = Self.question()
        let response = try Self.app().get("/api/v1/site/summary", MemoryStateSource(), headers: headers, as: .anonymous)
        #expect(response.status == 200, "\(response.bodyText)")
        let envelope = try JSONDecoder().decode(SiteEnvelope.self, from: Data(response.body))
        #expect(!response.bodyText.contains(Fixture.chassisID), "the chassis' own data travels sealed")
        let plain = try #require(SiteSeal.open(envelope.sealed, keys: Self.keys, for: credential, answeredBy: envelope.answeredBy))
        let summary = try JSONDecoder().decode(SiteSummary.self, from: Data(plain))
        let snapshot = Fixture.snapshot()
        #expect(summary.chassisID == Fixture.chassisID && summary.name == snapshot.chassis.name)
        #expect(summary.status == snapshot.chassis.status && summary.slots == snapshot.chassis.slotCount)
        #expect(summary.answeredByActive && summary.activeManager == "blade-1" && summary.answeredBy == "blade-1")
        #expect(summary.alertsCritical == snapshot.alerts.filter { $0.clearedAt == nil && $0.severity == .critical }.count)
        // Sealed for this question only: another nonce, another answering blade or another key does not open it.
        let (second, _) = Self.question()
        #expect(SiteSeal.open(envelope.sealed, keys: Self.keys, for: second, answeredBy: envelope.answeredBy) == nil)
        #expect(SiteSeal.open(envelope.sealed, keys: Self.keys, for: credential, answeredBy: "blade-2") == nil)
        #expect(SiteSeal.open(envelope.sealed, keys: SiteKeys(root: [UInt8](repeating: 1, count: 32)), for: credential,
                              answeredBy: envelope.answeredBy) == nil)
    }

    @Test func aStandbyAnswersTheSummaryItselfNamingTheActiveManager() throws {
        let source = MemoryStateSource(local: Fixture.local(role: .standby, leaseValid: false, activeURL: "http://127.0.1.2:8080",
                                                            activeAddress: "127.0.1.2"), cluster: Fixture.cluster(active: 2))
        let (credential, headers) = Self.question()
        let response = try Self.app().get("/api/v1/site/summary", source, headers: headers, as: .anonymous)
        #expect(response.status == 200)
        let envelope = try JSONDecoder().decode(SiteEnvelope.self, from: Data(response.body))
        let plain = try #require(SiteSeal.open(envelope.sealed, keys: Self.keys, for: credential, answeredBy: envelope.answeredBy))
        let summary = try JSONDecoder().decode(SiteSummary.self, from: Data(plain))
        #expect(!summary.answeredByActive && summary.activeManager == "blade-2" && summary.activeAddress == "127.0.1.2")
    }

    @Test func theSummaryIsForTheSiteAloneAndTheSiteReadsNothingElse() throws {
        let app = try Self.app()
        let source = MemoryStateSource()
        // No person may read it, whatever the role.
        for credential in Credential.all where credential != .anonymous {
            #expect(app.get("/api/v1/site/summary", source, as: credential).status == 403, "\(credential)")
        }
        #expect(app.get("/api/v1/site/summary", source, as: .anonymous).status == 401)
        // A forged, stale or foreign credential is 401.
        let foreign = Self.question(keys: SiteKeys(root: [UInt8](repeating: 9, count: 32))).1
        for headers in [foreign, Self.question(at: Fixture.now - 61).1, Self.question(at: Fixture.now + 61).1,
                        ["Authorization": "Chassis-Site c1.660007770089.1764000000.00.00"], ["Authorization": "Chassis-Site"]] {
            #expect(app.get("/api/v1/site/summary", source, headers: headers, as: .anonymous).status == 401, "\(headers)")
        }
        // A chassis without a site knows no site credential.
        #expect(try Fixture.app().get("/api/v1/site/summary", source, headers: Self.question().1, as: .anonymous).status == 401)
        // A valid one reads the summary and nothing else.
        for (route, target) in Route.examples where route != .apiSiteSummary {
            for method in route.allowedMethods {
                let control = RecordingControl()
                let app = try Self.app(control: control)
                let response = app.handle(app.request(method, target, as: .anonymous, headers: Self.question().1), source: source)
                #expect(response.status == 403, "\(method) \(target): \(response.status)")
                #expect(control.requests.isEmpty)
            }
        }
    }

    @Test func theSummaryIsAnsweredOverPlainHTTPWhenHTTPSIsOn() throws {
        var settings = Fixture.settings()
        settings.httpsPort = 8443
        let app = try Self.app(access: settings)
        let request = app.request("GET", "/api/v1/site/summary", as: .anonymous, headers: Self.question().1, secure: false)
        #expect(app.handle(request, source: MemoryStateSource()).status == 200)
        // A person's session is still told to use HTTPS.
        #expect(app.handle(app.request("GET", "/api/v1/site", as: .session(.admin), secure: false), source: MemoryStateSource()).status == 403)
    }

    // MARK: The page

    @Test func theSitePageShowsEveryChassisAndSinceWhenOneIsUnreachable() throws {
        let board = Self.board()
        let app = try Self.app(board: board)
        let source = MemoryStateSource()
        var json = try JSONSerialization.jsonObject(with: Data(app.get("/api/v1/site", source, as: .session(.viewer)).body)) as? [String: Any]
        var rows = try #require(json?["chassis"] as? [[String: Any]])
        #expect(json?["site"] as? String == "Lab")
        #expect(rows.count == 2 && rows[0]["own"] as? Bool == true && rows[1]["name"] as? String == "chassis-2")
        #expect(rows[1]["reachable"] as? Bool == false && rows[1]["unreachableSince"] == nil, "not asked yet")

        board.record("chassis-2", .success((Self.otherSummary(), "127.0.2.1")), now: Fixture.now - 30)
        board.record("chassis-2", .failure(SiteProblem("127.0.2.1: connection refused")), now: Fixture.now - 20)
        board.record("chassis-2", .failure(SiteProblem("127.0.2.1: connection refused")), now: Fixture.now - 10)
        json = try JSONSerialization.jsonObject(with: Data(app.get("/api/v1/site", source, as: .session(.viewer)).body)) as? [String: Any]
        rows = try #require(json?["chassis"] as? [[String: Any]])
        #expect(rows[1]["reachable"] as? Bool == false)
        #expect(rows[1]["unreachableSince"] as? Double == Fixture.now - 20, "since the first failed round, not the latest")
        #expect(rows[1]["lastAnswerAt"] as? Double == Fixture.now - 30)
        #expect((rows[1]["summary"] as? [String: Any])?["name"] as? String == "Row B chassis", "what it was is kept")

        let page = app.get("/site", source, as: .session(.viewer))
        #expect(page.status == 200)
        #expect(page.bodyText.contains("data-site-chassis=\"chassis-2\""))
        #expect(page.bodyText.contains("unreachable since \(Format.time(Fixture.now - 20)): 127.0.2.1: connection refused"))
        #expect(page.bodyText.contains("badge-unreachable"))
        #expect(page.bodyText.contains("href=\"/site\""), "the staff's top bar links the site page")
        // A customer sees nothing of the site, in either form.
        #expect(app.get("/site", source, as: .session(.customer)).status == 403)
        #expect(app.get("/api/v1/site", source, as: .token(.customer)).status == 403)
        #expect(!app.get("/", source, as: .session(.customer)).bodyText.contains("href=\"/site\""))
        // Without a site, there is no site page.
        #expect(try Fixture.app().get("/site", source, as: .session(.admin)).status == 404)
    }

    // MARK: Following a link

    @Test func openingAnotherChassisGivesATicketForItPostedThereOnly() throws {
        let board = Self.board()
        board.record("chassis-2", .success((Self.otherSummary(), "127.0.2.1")), now: Fixture.now - 1)
        let control = RecordingControl()
        let app = try Self.app(control: control, board: board)
        let response = app.send("POST", "/site/open", MemoryStateSource(), body: "chassis=chassis-2",
                                headers: ["Content-Type": "application/x-www-form-urlencoded"], as: .session(.viewer))
        #expect(response.status == 200, "\(response.bodyText.prefix(300))")
        #expect(response.bodyText.contains("action=\"\(Self.otherOrigin)/session/site\""))
        #expect(response.header("Content-Security-Policy")?.hasSuffix("form-action 'self' \(Self.otherOrigin)") == true)
        #expect(response.header("Referrer-Policy") == "origin", "the other chassis checks where the post comes from")
        let text = try #require(response.bodyText.range(of: #"name="ticket" value="([^"]+)""#, options: .regularExpression)
            .map { String(response.bodyText[$0].dropFirst(21).dropLast()) })
        let ticket = try #require(SiteTicket.redeemable(text, keys: Self.keys, chassisID: Self.otherID, now: Fixture.now))
        #expect(ticket.user == "viewer" && ticket.from == Fixture.chassisID && ticket.expiresAt == Int64(Fixture.now) + 60)
        #expect(SiteTicket.redeemable(text, keys: Self.keys, chassisID: Fixture.chassisID, now: Fixture.now) == nil, "for chassis-2 only")
        #expect(control.requests.isEmpty)

        // A chassis not of the site, one without an active manager, and a token get none.
        let form = ["Content-Type": "application/x-www-form-urlencoded"]
        #expect(app.send("POST", "/site/open", MemoryStateSource(), body: "chassis=elsewhere", headers: form).status == 404)
        #expect(app.send("POST", "/site/open", MemoryStateSource(), body: "chassis=chassis-2", headers: form, as: .token(.admin)).status == 403)
        board.record("chassis-2", .success((Self.otherSummary(activeURL: nil), "127.0.2.1")), now: Fixture.now)
        #expect(app.send("POST", "/site/open", MemoryStateSource(), body: "chassis=chassis-2", headers: form).status == 503)
        board.record("chassis-2", .success((Self.otherSummary(activeURL: "javascript:alert(1)"), "127.0.2.1")), now: Fixture.now)
        #expect(app.send("POST", "/site/open", MemoryStateSource(), body: "chassis=chassis-2", headers: form).status == 503)
    }

    static func ticket(to chassisID: String = Fixture.chassisID, user: String = "oper", at time: Double = Fixture.now,
                       keys: SiteKeys = keys) -> String {
        var random = SystemRandomNumberGenerator()
        return SiteTicket.make(from: otherID, to: chassisID, user: user, now: time, using: &random).encode(keys: keys)
    }

    static func redeem(_ app: WebApp, _ ticket: String, origin: String = otherOrigin) -> Response {
        app.send("POST", "/session/site", MemoryStateSource(), body: "ticket=" + URLCoding.encodeComponent(ticket),
                 headers: ["Content-Type": "application/x-www-form-urlencoded", "Origin": origin], as: .anonymous)
    }

    @Test func aTicketStartsASessionForThisChassisOwnUserOnce() throws {
        let control = RecordingControl()
        let app = try Self.app(control: control)
        let ticket = Self.ticket()
        let response = Self.redeem(app, ticket)
        #expect(response.status == 200, "\(response.bodyText.prefix(300))")
        let cookie = try #require(response.header("Set-Cookie"))
        let value = try #require(cookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last)
        let session = try #require(SessionToken.decode(String(value), key: Fixture.key))
        #expect(session.user == "oper" && session.generation == 1 && session.startedAt == Int64(Fixture.now))
        #expect(response.bodyText.contains("data-transfer-next=\"/\""))
        // Recorded as a login, with where it came from.
        let sent = try #require(control.sent.first)
        #expect(sent.request == .recordLogin(user: "oper", address: "127.0.0.1", success: true))
        #expect(sent.actor?.via == "site:\(Self.otherID)" && sent.actor?.role == .operator)
        // Once only.
        #expect(Self.redeem(app, ticket).status == 303)
        #expect(control.requests.count == 1)
    }

    @Test func aTicketForAnotherChassisExpiredForgedOrFromElsewhereStartsNothing() throws {
        let control = RecordingControl()
        let app = try Self.app(control: control)
        for ticket in [Self.ticket(to: Self.otherID), Self.ticket(at: Fixture.now - 61),
                       Self.ticket(at: Fixture.now + 600), Self.ticket(keys: SiteKeys(root: [UInt8](repeating: 7, count: 32))),
                       String(Self.ticket().dropLast(2)) + "AA", "st1", ""] {
            let response = Self.redeem(app, ticket)
            #expect(response.status == 303 && response.header("Location") == "/login?next=%2F", "\(ticket)")
            #expect(response.header("Set-Cookie") == nil)
        }
        // A name this chassis does not have.
        let unknown = Self.redeem(app, Self.ticket(user: "mallory"))
        #expect(unknown.status == 403 && unknown.bodyText.contains("There is no user mallory on this chassis"))
        // Posted by a page that is not of the site.
        #expect(Self.redeem(app, Self.ticket(), origin: "https://evil.example").status == 403)
        #expect(Self.redeem(app, Self.ticket(), origin: "https://127.0.2.1:9443").status == 403)
        #expect(control.requests.isEmpty)
        // Without a site, nothing is redeemed.
        let plain = try Fixture.app(control: control)
        #expect(Self.redeem(plain, Self.ticket()).status == 403, "no site origin is known")
        #expect(control.requests.isEmpty)
    }
}
