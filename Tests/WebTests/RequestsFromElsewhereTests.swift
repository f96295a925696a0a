import Foundation
import Testing
import Access
import Control
import Model
@testable import Web

/// Requests from elsewhere: cross-site writes (CSRF), names the chassis does not answer to (DNS
/// rebinding), and the security headers on every answer.
@Suite struct RequestsFromElsewhereTests {
    /// Browser writes of every kind, each of which the admin may make.
    static let writes: [(String, String, String)] = [
        ("POST", "/api/v1/alerts/11/acknowledge", ""),
        ("PUT", "/api/v1/thresholds", "{\"metricKey\": \"cpu.total.utilisation\"}"),
        ("DELETE", "/api/v1/thresholds/3", ""),
        ("PATCH", "/api/v1/chassis/660007770088/slots/2", "{\"name\": \"x\"}"),
        ("POST", "/api/v1/users", "{\"name\": \"eve\", \"role\": \"admin\", \"password\": \"long enough pass\"}"),
        ("DELETE", "/api/v1/users/oper", ""),
        ("POST", "/api/v1/tokens", "{\"user\": \"admin\"}"),
        ("POST", "/logout", ""),
        ("DELETE", "/api/v1/session", ""),
        ("POST", "/api/v1/session/ticket", ""),
    ]

    static let badOrigins: [String?] = [
        "http://evil.example", nil, "null", "", "https://127.0.1.1:8080", "http://127.0.1.1", "http://127.0.1.1:8081",
        "http://127.0.1.1:8080.evil.example", "http://evil.example/http://127.0.1.1:8080", "http://127.0.1.9:8080",
    ]

    func writeRequest(_ app: WebApp, _ method: String, _ target: String, _ body: String, origin: String?,
                      as credential: Credential = .session(.admin)) -> Request {
        var request = app.request(method, target, as: credential, body: body, headers: ["Content-Type": "application/json"])
        request.headers["origin"] = origin
        return request
    }

    @Test func cookieWritesFromElsewhereAre403AndReachNoEngine() throws {
        for (method, target, body) in Self.writes {
            for origin in Self.badOrigins {
                let control = RecordingControl()
                let app = try Fixture.app(control: control)
                let response = app.handle(writeRequest(app, method, target, body, origin: origin), source: MemoryStateSource())
                #expect(response.status == 403, "\(method) \(target) Origin \(origin ?? "absent")")
                #expect(control.requests.isEmpty, "\(method) \(target) Origin \(origin ?? "absent") reached the engine")
                #expect(response.header("Set-Cookie") == nil)
            }
        }
    }

    @Test func theSameWritesFromTheChassisOwnPagesGoThrough() throws {
        let origins = [Fixture.origin, "http://127.0.1.2:8080", "http://127.0.1.3:8080", "http://chassis.example:8080"]
        for (method, target, body) in Self.writes {
            for origin in origins {
                let control = RecordingControl()
                let app = try Fixture.app(control: control)
                let response = app.handle(writeRequest(app, method, target, body, origin: origin), source: MemoryStateSource())
                #expect(response.status != 403 && response.status < 500, "\(method) \(target) from \(origin): \(response.status) \(response.bodyText)")
                if target != "/api/v1/session/ticket" {
                    #expect(control.requests.count == 1, "\(method) \(target) from \(origin)")
                }
            }
        }
    }

    @Test func bearerWritesNeedNoOrigin() throws {
        for (method, target, body) in Self.writes where target != "/api/v1/session/ticket" {
            for origin in [nil, "http://evil.example"] as [String?] {
                let control = RecordingControl()
                let app = try Fixture.app(control: control)
                let response = app.handle(writeRequest(app, method, target, body, origin: origin, as: .token(.admin)),
                                          source: MemoryStateSource())
                #expect(response.status != 403 && response.status != 401, "\(method) \(target): \(response.status) \(response.bodyText)")
                if !["/logout", "/api/v1/session"].contains(target) {
                    #expect(control.requests.count == 1, "\(method) \(target)")
                    #expect(control.sent.first?.actor?.via == "token \(Fixture.tokens[.admin]!.id)")
                }
            }
        }
    }

    /// Logging in is a write too: a page elsewhere cannot log the browser in as someone else.
    @Test func aLoginFromElsewhereIs403() throws {
        for origin in Self.badOrigins {
            let control = RecordingControl()
            let app = try Fixture.app(control: control)
            var form = app.request("POST", "/login", as: .anonymous, body: "user=admin&password=correct+horse+battery",
                                   headers: ["Content-Type": "application/x-www-form-urlencoded"])
            form.headers["origin"] = origin
            let response = app.handle(form, source: MemoryStateSource())
            #expect(response.status == 403, "Origin \(origin ?? "absent")")
            #expect(response.header("Set-Cookie") == nil)
            #expect(control.requests.isEmpty, "no login recorded")
        }
    }

    /// A ticket is taken by a page of another member: its origin is one of the chassis'.
    @Test func aTransferFromAnotherMemberIsAcceptedAndFromElsewhereNot() throws {
        let app = try Fixture.app()
        var random = SystemRandomNumberGenerator()
        let ticket = Authenticator(policy: Fixture.policy, key: Fixture.key)
            .ticket(for: Fixture.session(.viewer), now: Fixture.now, using: &random).encode(key: Fixture.key)
        var foreign = app.request("POST", "/session/transfer", as: .anonymous, body: "ticket=\(ticket)",
                                  headers: ["Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"])
        #expect(app.handle(foreign, source: MemoryStateSource()).status == 403)
        foreign.headers["origin"] = "http://127.0.1.2:8080"
        let member = app.handle(foreign, source: MemoryStateSource())
        #expect(member.status == 200)
        #expect(member.header("Set-Cookie")?.hasPrefix(AccessSettings.cookieName + "=") == true)
    }

    /// With HTTPS off and the web port 80 (`https_port = 0`, `web.port = 80`, both valid), a
    /// browser's Origin leaves the default port out: `http://127.0.1.1`, not `http://127.0.1.1:80`
    /// (RFC 6454 §6.2). The chassis' own pages must still be able to write and log in.
    @Test func theDefaultPortIsLeftOutOfAnOrigin() throws {
        var settings = Fixture.settings()
        settings.httpsPort = 0
        settings.httpPort = 80
        let control = RecordingControl()
        let app = try Fixture.app(control: control, access: settings)
        let write = app.handle(app.request("POST", "/api/v1/alerts/11/acknowledge", as: .session(.operator),
                                           headers: ["Host": "127.0.1.1", "Origin": "http://127.0.1.1"]), source: MemoryStateSource())
        #expect(write.status == 200, "\(write.bodyText)")
        let login = app.handle(app.request("POST", "/login", as: .anonymous, body: "user=admin&password=correct+horse+battery",
                                           headers: ["Host": "127.0.1.1", "Origin": "http://127.0.1.1",
                                                     "Content-Type": "application/x-www-form-urlencoded"]), source: MemoryStateSource())
        #expect(login.status == 303, "\(login.bodyText)")
    }

    // MARK: Host

    static let evilTargets: [(String, String)] = [
        ("GET", "/"), ("GET", "/chassis/660007770088/slots/1"), ("GET", "/api/v1/chassis"), ("GET", "/api/v1/local"),
        ("GET", "/health/active"), ("GET", "/metrics"), ("GET", "/login"), ("POST", "/login"), ("POST", "/api/v1/session"),
        ("POST", "/api/v1/alerts/11/acknowledge"), ("PUT", "/api/v1/thresholds"),
    ]

    @Test(arguments: ["evil.example", "evil.example:8080", "EVIL.example", "127.0.1.1.evil.example", "", "chassis.example.evil",
                      "127.0.1.9:8080", "[::1]:8080"])
    func aNameTheChassisDoesNotAnswerToIs421(host: String) throws {
        for (method, target) in Self.evilTargets {
            for credential in [Credential.anonymous, .session(.admin), .token(.admin)] {
                let control = RecordingControl()
                let app = try Fixture.app(control: control)
                let response = app.handle(app.request(method, target, as: credential, body: "{}",
                                                      headers: ["Host": host, "Content-Type": "application/json"]),
                                          source: MemoryStateSource())
                #expect(response.status == 421, "\(method) \(target) Host \(host) as \(credential)")
                #expect(control.requests.isEmpty)
                #expect(!response.bodyText.contains("SN-1"), "nothing of the chassis")
            }
        }
    }

    @Test func aMissingHostIs421() throws {
        let app = try Fixture.app()
        var request = app.request("GET", "/health/active")
        request.headers["host"] = nil
        #expect(app.handle(request, source: MemoryStateSource()).status == 421)
    }

    @Test(arguments: ["127.0.1.1", "127.0.1.1:8080", "127.0.1.3:8443", "chassis.example", "CHASSIS.Example:8443", "chassis.example."])
    func theChassisOwnNamesAreAnswered(host: String) throws {
        let response = try Fixture.app().get("/health/active", MemoryStateSource(), headers: ["Host": host])
        #expect(response.status == 200, "\(host)")
    }

    @Test func aMemberLearntSinceStartIsAnswered() throws {
        let source = MemoryStateSource()
        source.clusterView.members.append(ClusterMember(name: "blade-9", address: "127.0.1.9", url: "http://127.0.1.9:8080", slotID: 9,
                                                        role: .standby, lastHeardAt: Fixture.now))
        let app = try Fixture.app()
        #expect(app.get("/health/active", source, headers: ["Host": "127.0.1.9:8080"]).status == 200)
        // Its pages may write too.
        let write = app.send("POST", "/api/v1/alerts/11/acknowledge", source, headers: ["Origin": "http://127.0.1.9:8080"])
        #expect(write.status == 200)
    }

    // MARK: Security headers

    static func checkSecurityHeaders(_ response: Response, _ what: String, secure: Bool,
                                     sourceLocation: SourceLocation = #_sourceLocation) {
        let policy = response.header("Content-Security-Policy")
        #expect(policy?.contains("frame-ancestors 'none'") == true, "\(what): CSP \(policy ?? "missing")", sourceLocation: sourceLocation)
        #expect(response.header("X-Content-Type-Options") == "nosniff", "\(what)", sourceLocation: sourceLocation)
        #expect(response.header("Referrer-Policy") != nil, "\(what)", sourceLocation: sourceLocation)
        let hsts = response.header("Strict-Transport-Security")
        if secure {
            #expect(hsts?.hasPrefix("max-age=") == true, "\(what): HSTS", sourceLocation: sourceLocation)
        } else {
            #expect(hsts == nil, "\(what): HSTS over plain HTTP", sourceLocation: sourceLocation)
        }
        // One of each: a page's own must not be doubled by the defaults.
        for name in ["content-security-policy", "x-content-type-options", "referrer-policy"] {
            #expect(response.headers.filter { $0.0.lowercased() == name }.count == 1, "\(what): \(name) twice", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [false, true])
    func everyAnswerCarriesTheSecurityHeaders(secure: Bool) throws {
        let app = try Fixture.app()
        let active = MemoryStateSource()
        let standby = RedirectTests.standby()
        let noManager = MemoryStateSource(local: Fixture.local(role: .candidate, leaseValid: false), cluster: Fixture.cluster(active: nil))
        let broken = MemoryStateSource()
        broken.failing = true
        let cases: [(Int, String, Credential, MemoryStateSource, [String: String])] = [
            (200, "/", .session(.admin), active, [:]),
            (200, "/api/v1/chassis", .session(.admin), active, [:]),
            (200, "/metrics", .token(.viewer), active, [:]),
            (200, "/login", .anonymous, active, [:]),
            (303, "/", .anonymous, active, [:]),
            (303, "/login", .session(.viewer), active, [:]),
            (302, "/", .session(.admin), standby, [:]),
            (304, "/api/v1/chassis", .session(.admin), active, ["If-None-Match": "*"]),
            (401, "/api/v1/chassis", .anonymous, active, [:]),
            (401, "/metrics", .anonymous, active, [:]),
            (403, "/api/v1/cluster", .session(.customer), active, [:]),
            (403, "/users", .session(.viewer), active, [:]),
            (404, "/nowhere", .session(.admin), active, [:]),
            (404, "/api/v1/nowhere", .session(.admin), active, [:]),
            (404, "/chassis/660007770088/slots/9", .session(.admin), active, [:]),
            (405, "/api/v1/alerts/11/acknowledge", .session(.admin), active, [:]),
            (421, "/", .session(.admin), active, ["Host": "evil.example"]),
            (421, "/api/v1/chassis", .anonymous, active, ["Host": "evil.example"]),
            (503, "/", .session(.admin), noManager, [:]),
            (503, "/api/v1/chassis", .session(.admin), noManager, [:]),
            (503, "/health/active", .anonymous, standby, [:]),
            (503, "/api/v1/local", .session(.admin), broken, [:]),
        ]
        for (status, target, credential, source, headers) in cases {
            let response = app.handle(app.request("GET", target, as: credential, headers: headers, secure: secure), source: source)
            #expect(response.status == status, "GET \(target) as \(credential)")
            Self.checkSecurityHeaders(response, "\(status) GET \(target)", secure: secure)
        }
        // Writes: a refused one (CSRF), one the engine took, and one it could not.
        let csrf = app.handle(writeRequest(app, "POST", "/api/v1/alerts/11/acknowledge", "", origin: "http://evil.example"), source: active)
        #expect(csrf.status == 403)
        Self.checkSecurityHeaders(csrf, "403 CSRF", secure: false)
        let login = app.handle(app.request("POST", "/login", as: .anonymous, body: "user=admin&password=correct+horse+battery",
                                           headers: ["Content-Type": "application/x-www-form-urlencoded"], secure: secure), source: active)
        #expect(login.status == 303)
        Self.checkSecurityHeaders(login, "303 login", secure: secure)
        let unopened = app.storeUnavailable(Request(method: "GET", target: "/", secure: secure), reason: "no store")
        #expect(unopened.status == 503)
        Self.checkSecurityHeaders(unopened, "503 no store", secure: secure)
    }

    @Test func pagesForbidFramingAndErrorsAllowNothing() throws {
        let app = try Fixture.app()
        let page = app.get("/", MemoryStateSource())
        #expect(page.header("Content-Security-Policy")?.contains("default-src 'self'") == true)
        let error = app.get("/api/v1/nowhere", MemoryStateSource())
        #expect(error.header("Content-Security-Policy")?.hasPrefix("default-src 'none'") == true)
    }
}
