import Foundation
import Testing
import Access
import ChassisKeys
import Control
import Model
@testable import Web

/// Every route × every method it answers × every caller (anonymous, a browser session of each
/// role, a bearer token of each role): the status expected from the route's declared rule.
@Suite struct AccessTableTests {
    /// One case per `Route` case. `kind(_:)` switches over `Route` without a default: a route added
    /// to the router does not compile here until it is named, and `everyRouteHasAnExample` fails
    /// until `Route.examples` has a row for it.
    enum RouteCase: CaseIterable {
        case overview, modulePage, apiChassis, apiSlot, apiSlotHistory, apiLocal, apiCluster, apiAlerts, apiAcknowledge
        case apiThresholds, apiThreshold, healthActive, metrics, login, logout, apiSession, apiSessionTicket, sessionTransfer
        case apiUsers, apiUser, apiTokens, apiToken, apiLoginLocks, apiLoginLocksLift, apiAudit, usersPage, auditPage
        case thresholdsPage, apiIntervals, settingsPage, alertsPage, apiEvents, eventsPage, apiNotifications
        case apiNotificationsTest, notificationsPage, apiMaintenance, apiMaintenanceWindow, managerPage, apiHandOver, apiMembers
        case apiMember, apiReplication, apiSlotPower
        case redfishService, redfishSessions, redfishSession, redfishManagers, redfishAccounts, redfishResource
        case sitePage, apiSite, apiSiteSummary, siteOpen, siteTransfer
    }

    /// Which case a route is, and whether it is a page a person opens (an anonymous GET of a page
    /// is sent to log in; anything else is told 401).
    static func kind(_ route: Route) -> (RouteCase, isPage: Bool) {
        switch route {
        case .overview: return (.overview, true)
        case .modulePage: return (.modulePage, true)
        case .apiChassis: return (.apiChassis, false)
        case .apiSlot: return (.apiSlot, false)
        case .apiSlotHistory: return (.apiSlotHistory, false)
        case .apiLocal: return (.apiLocal, false)
        case .apiCluster: return (.apiCluster, false)
        case .apiAlerts: return (.apiAlerts, false)
        case .apiAcknowledge: return (.apiAcknowledge, false)
        case .apiThresholds: return (.apiThresholds, false)
        case .apiThreshold: return (.apiThreshold, false)
        case .healthActive: return (.healthActive, false)
        case .metrics: return (.metrics, false)
        case .login: return (.login, true)
        case .logout: return (.logout, true)
        case .apiSession: return (.apiSession, false)
        case .apiSessionTicket: return (.apiSessionTicket, false)
        case .sessionTransfer: return (.sessionTransfer, true)
        case .apiUsers: return (.apiUsers, false)
        case .apiUser: return (.apiUser, false)
        case .apiTokens: return (.apiTokens, false)
        case .apiToken: return (.apiToken, false)
        case .apiLoginLocks: return (.apiLoginLocks, false)
        case .apiLoginLocksLift: return (.apiLoginLocksLift, false)
        case .apiAudit: return (.apiAudit, false)
        case .usersPage: return (.usersPage, true)
        case .auditPage: return (.auditPage, true)
        case .thresholdsPage: return (.thresholdsPage, true)
        case .apiIntervals: return (.apiIntervals, false)
        case .settingsPage: return (.settingsPage, true)
        case .alertsPage: return (.alertsPage, true)
        case .apiEvents: return (.apiEvents, false)
        case .eventsPage: return (.eventsPage, true)
        case .apiNotifications: return (.apiNotifications, false)
        case .apiNotificationsTest: return (.apiNotificationsTest, false)
        case .notificationsPage: return (.notificationsPage, true)
        case .apiMaintenance: return (.apiMaintenance, false)
        case .apiMaintenanceWindow: return (.apiMaintenanceWindow, false)
        case .managerPage: return (.managerPage, true)
        case .apiHandOver: return (.apiHandOver, false)
        case .apiMembers: return (.apiMembers, false)
        case .apiMember: return (.apiMember, false)
        case .apiReplication: return (.apiReplication, false)
        case .apiSlotPower: return (.apiSlotPower, false)
        case .redfishService: return (.redfishService, false)
        case .redfishSessions: return (.redfishSessions, false)
        case .redfishSession: return (.redfishSession, false)
        case .redfishManagers: return (.redfishManagers, false)
        case .redfishAccounts: return (.redfishAccounts, false)
        case .redfishResource: return (.redfishResource, false)
        case .sitePage: return (.sitePage, true)
        case .apiSite: return (.apiSite, false)
        case .apiSiteSummary: return (.apiSiteSummary, false)
        case .siteOpen: return (.siteOpen, true)
        case .siteTransfer: return (.siteTransfer, true)
        }
    }

    @Test func everyRouteHasAnExample() throws {
        let covered = Route.examples.map { Self.kind($0.route).0 }
        #expect(Set(covered) == Set(RouteCase.allCases), "missing: \(Set(RouteCase.allCases).subtracting(covered))")
        #expect(covered.count == RouteCase.allCases.count, "one example per route")
        // Each example's target is matched back to its own route.
        for (route, target) in Route.examples {
            let path = String(target.prefix(while: { $0 != "?" }))
            #expect(Route.match(try Route.segments(rawPath: path)) == route, "\(target)")
        }
    }

    @Test func everyRouteDeclaresARuleForEveryMethodItAnswers() {
        // The design's fixed points: health and logging in are anonymous, users and the audit log
        // are the admins', a customer reads, staff read the cluster, writes need operate or more.
        #expect(Route.healthActive.rule(method: "GET") == .anonymous)
        #expect(Route.login.rule(method: "POST") == .anonymous)
        #expect(Route.apiSession.rule(method: "POST") == .anonymous)
        #expect(Route.apiSession.rule(method: "DELETE") == .anyUser)
        #expect(Route.metrics.rule(method: "GET") == .anyUser)
        #expect(Route.apiCluster.rule(method: "GET") == .staff)
        #expect(Route.apiSlot(chassisID: "x", slot: "1").rule(method: "PATCH") == .operate)
        #expect(Route.apiSlot(chassisID: "x", slot: "1").rule(method: "GET") == .anyUser)
        for (route, _) in Route.examples {
            for method in route.allowedMethods where method != "GET" && method != "HEAD" {
                let rule = route.rule(method: method)
                // No write is open to viewers or customers, except logging in and out and carrying a session.
                let sessionRoutes: Set<RouteCase> = [.login, .logout, .apiSession, .apiSessionTicket, .sessionTransfer,
                                                     .redfishSessions, .redfishSession, .siteOpen, .siteTransfer]
                if !sessionRoutes.contains(Self.kind(route).0) {
                    #expect(!rule.permits(.viewer) && !rule.permits(.customer), "\(route) \(method) is \(rule)")
                }
            }
        }
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var route: Route
        var target: String
        var method: String
        var testDescription: String { "\(method) \(target)" }
    }

    static let rows: [Row] = Route.examples.flatMap { example in
        example.route.allowedMethods.map { Row(route: example.route, target: example.target, method: $0) }
    }

    enum Expected: Equatable {
        /// Admitted: the handler answers (200, 201, 303, 400, 404 … depending on the body), never 401 or 403.
        case admitted
        case loginRedirect
        case unauthorized
        case forbidden
    }

    static func expected(_ row: Row, _ credential: Credential) -> Expected {
        let rule = row.route.rule(method: row.method)
        guard let role = credential.role else {
            if rule == .anonymous { return .admitted }
            let read = row.method == "GET" || row.method == "HEAD"
            return read && kind(row.route).isPage ? .loginRedirect : .unauthorized
        }
        return rule.permits(role) ? .admitted : .forbidden
    }

    @Test(arguments: rows)
    func table(row: Row) throws {
        #expect(Self.rows.count > Route.examples.count)
        for credential in Credential.all {
            let control = RecordingControl()
            let app = try Fixture.app(control: control)
            let request = app.request(row.method, row.target, as: credential, headers: ["Content-Type": "application/json"])
            if row.method != "GET" && row.method != "HEAD" {
                // Writes from the browser carry this chassis' Origin; tokens need none.
                if case .token = credential { #expect(request.header("Origin") == nil) } else {
                    #expect(request.header("Origin") == Fixture.origin)
                }
            }
            let response = app.handle(request, source: MemoryStateSource())
            let label = "\(row.method) \(row.target) as \(credential): \(response.status) \(response.bodyText.prefix(200))"
            let rule = row.route.rule(method: row.method)
            switch Self.expected(row, credential) {
            case .admitted:
                if case .apiSessionTicket = row.route, case .token = credential {
                    // The one handler that refuses an admitted caller: a transfer ticket carries a
                    // browser's session, and a token has none.
                    #expect(response.status == 403, "\(label)")
                    #expect(response.bodyText.contains("a transfer ticket is for a browser's session"), "\(label)")
                    continue
                }
                #expect(response.status != 401 && response.status != 403, "\(label)")
                #expect(response.status < 500, "\(label)")
            case .loginRedirect:
                #expect(response.status == 303, "\(label)")
                let location = try #require(response.header("Location"), "\(label)")
                #expect(location == "/login" || location.hasPrefix("/login?next=%2F"), "\(label): \(location)")
                #expect(control.requests.isEmpty, "\(label)")
            case .unauthorized:
                #expect(response.status == 401, "\(label)")
                #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer realm=\"chassis\"") == true, "\(label)")
                #expect(control.requests.isEmpty, "\(label)")
            case .forbidden:
                #expect(response.status == 403, "\(label)")
                #expect(control.requests.isEmpty, "\(label)")
                let role = try #require(credential.role)
                if Self.kind(row.route).isPage {
                    #expect(response.header("Content-Type") == MediaType.html, "\(label)")
                    if row.method != "HEAD" { #expect(response.bodyText.contains("needs the role \(rule.rolesText)"), "\(label)") }
                } else if row.method != "HEAD" {
                    let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any], "\(label)")
                    #expect(object["error"] as? String == "\(role.rawValue) may not do this: it needs the role \(rule.rolesText)")
                    #expect(object["required"] as? [String] == Role.allCases.filter(rule.permits).map(\.rawValue), "\(label)")
                    #expect(object["role"] as? String == role.rawValue, "\(label)")
                }
            }
        }
    }

    /// The table is not vacuous: each kind of answer occurs, for pages and for the API.
    @Test func theTableCoversEveryKindOfAnswer() {
        var seen: Set<String> = []
        for row in Self.rows {
            for credential in Credential.all {
                seen.insert("\(Self.expected(row, credential))")
            }
        }
        #expect(seen == ["admitted", "loginRedirect", "unauthorized", "forbidden"])
        #expect(Self.rows.count * Credential.all.count > 400)
    }

    // MARK: Credentials that do not hold

    @Test(arguments: ["/", "/api/v1/chassis", "/metrics", "/users"])
    func anInvalidBearerTokenIsAlways401(target: String) throws {
        let app = try Fixture.app()
        let secret = Base64.encode([UInt8](repeating: 7, count: 32), padding: false, url: true)
        for value in ["Bearer cm_0123456789abcdef_\(secret)", "Bearer nonsense", "Basic YWRtaW46YWRtaW4="] {
            let response = app.get(target, MemoryStateSource(), headers: ["Authorization": value], as: .anonymous)
            #expect(response.status == 401, "\(target) \(value)")
            #expect(response.header("WWW-Authenticate") != nil)
            #expect(response.header("Location") == nil, "a bad token is refused, not sent to log in")
        }
    }

    @Test func anEndedSessionIsToldToLogInAgainAndItsCookieCleared() throws {
        let app = try Fixture.app()
        let foreign = "\(AccessSettings.cookieName)=s1.00112233445566778899aabbccddeeff.YWRtaW4.1.1764000000.1764000000.AAAA"
        let page = app.get("/", MemoryStateSource(), headers: ["Cookie": foreign], as: .anonymous)
        #expect(page.status == 303)
        #expect(page.header("Location") == "/login")
        #expect(page.header("Set-Cookie")?.contains("Max-Age=0") == true)
        let api = app.get("/api/v1/chassis", MemoryStateSource(), headers: ["Cookie": foreign], as: .anonymous)
        #expect(api.status == 401)
        #expect(api.header("Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(api.bodyText.contains("log in again"))
    }

    @Test func aRoleChangeTakesEffectOnTheNextRequest() throws {
        // The session's generation no longer matches once the user changed: the same cookie that
        // read the cluster view is sent to log in.
        let app = try Fixture.app()
        let source = MemoryStateSource()
        #expect(app.get("/api/v1/cluster", source, as: .session(.operator)).status == 200)
        source.accessState.users["oper"] = Fixture.user(.operator, generation: 2)
        source.version = "v2"
        #expect(app.get("/api/v1/cluster", source, as: .session(.operator)).status == 401)
        // The token of the same user is not a session: it keeps working.
        #expect(app.get("/api/v1/cluster", source, as: .token(.operator)).status == 200)
    }

    @Test func anonymousScrapesOnlyFromConfiguredNetworks() throws {
        let app = try Fixture.app(access: Fixture.settings(metricsNetworks: ["10.1.0.0/16"]))
        let inside = app.handle(app.request("GET", "/metrics", as: .anonymous, remoteAddress: "10.1.2.3"), source: MemoryStateSource())
        #expect(inside.status == 200)
        #expect(inside.bodyText.contains("chassis_manager_chassis_status"))
        let outside = app.handle(app.request("GET", "/metrics", as: .anonymous, remoteAddress: "10.2.2.3"), source: MemoryStateSource())
        #expect(outside.status == 401)
        // The network opens /metrics only, nothing else.
        let other = app.handle(app.request("GET", "/api/v1/chassis", as: .anonymous, remoteAddress: "10.1.2.3"), source: MemoryStateSource())
        #expect(other.status == 401)
    }

    @Test func theSessionCheckDoesNotReadTheStorePerRequest() throws {
        let app = try Fixture.app()
        let source = MemoryStateSource()
        for _ in 0..<10 { #expect(app.get("/api/v1/chassis", source, as: .session(.viewer)).status == 200) }
        for _ in 0..<10 { #expect(app.get("/api/v1/alerts", source, as: .token(.customer)).status == 200) }
        #expect(source.accessReads == 1)
        // Only the configuration part of the version matters: metrics move every second.
        source.version = "v1-m2"
        _ = app.get("/api/v1/chassis", source, as: .session(.viewer))
        source.version = "v2"
        _ = app.get("/api/v1/chassis", source, as: .session(.viewer))
        #expect(source.accessReads == 2)
    }

    @Test func aSessionIsRenewedOnUseAfterAMinute() throws {
        let app = try Fixture.app(clock: Fixture.now + 120)
        let old = Fixture.session(.viewer, at: Fixture.now)
        let response = app.get("/", MemoryStateSource(), headers: ["Cookie": Fixture.cookie(old)], as: .anonymous)
        #expect(response.status == 200)
        let setCookie = try #require(response.header("Set-Cookie"))
        let value = try #require(setCookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last)
        let renewed = try #require(SessionToken.decode(String(value), key: Fixture.key))
        #expect(renewed.id == old.id && renewed.startedAt == old.startedAt)
        #expect(renewed.renewedAt == Int64(Fixture.now) + 120)
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("Secure") && setCookie.contains("SameSite=Strict"))
        // A fresh one is not rewritten.
        #expect(app.get("/", MemoryStateSource(), as: .session(.viewer)).header("Set-Cookie") == nil)
    }
}

/// Another blade's engine (`Authorization: Chassis-Member …`, join_via) reads `/api/v1/cluster`
/// and nothing else; with HTTPS on, nothing but anonymous routes and that credential over plain HTTP.
@Suite struct MemberAndPlainHTTPTests {
    static func member(at seconds: Int64 = Int64(Fixture.now), key: [UInt8] = [UInt8](repeating: 0x5A, count: 32)) -> String {
        MemberCredential.scheme + " " + MemberCredential.make(webKey: key, seconds: seconds)
    }

    @Test func aMemberCredentialReadsTheClusterViewOnly() throws {
        for (route, target) in Route.examples {
            for method in route.allowedMethods {
                let control = RecordingControl()
                let app = try Fixture.app(control: control)
                let response = app.handle(app.request(method, target, as: .anonymous, headers: ["Authorization": Self.member()]),
                                          source: MemoryStateSource())
                if route == .apiCluster {
                    #expect(response.status == 200, "\(method) \(target)")
                } else {
                    #expect(response.status == 403, "\(method) \(target): \(response.status)")
                }
                #expect(control.requests.isEmpty, "\(method) \(target)")
            }
        }
    }

    @Test func aMemberReadsTheClusterViewOfAStandbyWithoutARedirect() throws {
        let response = try Fixture.app().get("/api/v1/cluster", RedirectTests.standby(), headers: ["Authorization": Self.member()],
                                             as: .anonymous)
        #expect(response.status == 200)
        #expect(try JSONDecoder().decode(ClusterView.self, from: Data(response.body)) == Fixture.cluster(active: 2))
        // Anyone else is sent to the active manager.
        #expect(try Fixture.app().get("/api/v1/cluster", RedirectTests.standby()).status == 302)
    }

    @Test func aStaleForgedOrForeignMemberCredentialIs401() throws {
        let app = try Fixture.app()
        for header in [Self.member(at: Int64(Fixture.now) - 61), Self.member(at: Int64(Fixture.now) + 61),
                       Self.member(key: [UInt8](repeating: 1, count: 32)), "Chassis-Member m1.1764000000.00",
                       "Chassis-Member", "Chassis-Member " + String(repeating: "a", count: 200)] {
            let response = app.get("/api/v1/cluster", MemoryStateSource(), headers: ["Authorization": header], as: .anonymous)
            #expect(response.status == 401, "\(header)")
        }
        #expect(app.get("/api/v1/cluster", MemoryStateSource(), headers: ["Authorization": Self.member(at: Int64(Fixture.now) - 60)],
                        as: .anonymous).status == 200)
    }

    static func httpsApp(control: RecordingControl = RecordingControl()) throws -> WebApp {
        var settings = Fixture.settings()
        settings.httpsPort = 8443
        return try Fixture.app(control: control, access: settings)
    }

    /// Over plain HTTP with HTTPS on, only the health check (and an engine's member credential):
    /// not even the login form, so a password never travels in clear.
    @Test func withHTTPSOnPlainHTTPAdmitsOnlyTheHealthCheckAndMembers() throws {
        for (route, target) in Route.examples {
            for method in route.allowedMethods {
                for credential in [Credential.session(.admin), .token(.admin), .token(.viewer), .anonymous] {
                    let control = RecordingControl()
                    let app = try Self.httpsApp(control: control)
                    let plain = app.handle(app.request(method, target, as: credential, headers: ["Origin": "https://127.0.1.1:8443"]),
                                           source: MemoryStateSource())
                    let rule = route.rule(method: method)
                    if route == .healthActive {
                        #expect(plain.status != 403, "\(method) \(target) as \(credential)")
                    } else if credential == .anonymous && rule != .anonymous {
                        // No credentials: the edge asks to log in (over HTTPS) before anything else.
                        #expect([303, 401, 403].contains(plain.status), "\(method) \(target) anonymous over plain HTTP")
                        #expect(control.requests.isEmpty, "\(method) \(target) anonymous reached the engine")
                    } else {
                        #expect(plain.status == 403, "\(method) \(target) as \(credential) over plain HTTP")
                        if method != "HEAD" && (rule == .anonymous || rule.permits(credential.role!)) {
                            #expect(plain.bodyText.contains("use HTTPS"), "\(method) \(target)")
                        }
                        #expect(control.requests.isEmpty, "\(method) \(target) as \(credential) reached the engine")
                    }
                }
            }
        }
        let app = try Self.httpsApp()
        let member = app.handle(app.request("GET", "/api/v1/cluster", as: .anonymous, headers: ["Authorization": Self.member()]),
                                source: MemoryStateSource())
        #expect(member.status == 200)
        let health = app.handle(app.request("GET", "/health/active", as: .anonymous), source: MemoryStateSource())
        #expect(health.status == 200)
    }

    @Test func withHTTPSOnTheSameRequestsOverHTTPSGoThrough() throws {
        let control = RecordingControl()
        let app = try Self.httpsApp(control: control)
        let read = app.handle(app.request("GET", "/api/v1/chassis", as: .session(.viewer), secure: true), source: MemoryStateSource())
        #expect(read.status == 200)
        #expect(read.header("Strict-Transport-Security") != nil)
        // Browser writes now name the HTTPS origin; the plain-HTTP one is another origin.
        let write = app.handle(app.request("POST", "/api/v1/alerts/11/acknowledge", as: .session(.operator),
                                           headers: ["Origin": "https://127.0.1.1:8443"], secure: true), source: MemoryStateSource())
        #expect(write.status == 200)
        let downgraded = app.handle(app.request("POST", "/api/v1/alerts/11/acknowledge", as: .session(.operator),
                                                headers: ["Origin": "http://127.0.1.1:8080"], secure: true), source: MemoryStateSource())
        #expect(downgraded.status == 403)
        #expect(control.requests.count == 1)
    }

    @Test func onlyThoseWhoMayAcknowledgeSeeTheButtons() throws {
        let app = try Fixture.app()
        for (credential, may) in [(Credential.session(.admin), true), (.session(.operator), true), (.session(.viewer), false),
                                  (.session(.customer), false)] {
            let html = app.get("/chassis/660007770088/slots/3", MemoryStateSource(), as: credential).bodyText
            #expect(html.contains("action=\"/api/v1/alerts/11/acknowledge\"") == may, "\(credential)")
            #expect(html.contains("data-can-acknowledge") == may, "\(credential)")
        }
    }
}
