import Foundation
import Testing
import Model
@testable import Web

@Suite struct RedirectTests {
    static func standby(activeURL: String? = "http://127.0.1.2:8080", activeAddress: String? = "127.0.1.2") -> MemoryStateSource {
        MemoryStateSource(local: Fixture.local(role: .standby, leaseValid: false, activeURL: activeURL, activeAddress: activeAddress),
                          cluster: Fixture.cluster(active: 2))
    }

    /// (role, leaseValid, method, target, expected status, expected Location)
    static let table: [(String, Bool, String, String, Int, String?)] = [
        ("active", true, "GET", "/", 200, nil),
        ("standby", false, "GET", "/", 302, "http://127.0.1.2:8080/"),
        ("standby", false, "HEAD", "/api/v1/chassis/660007770088/slots/1/history?key=x%2Fy", 302,
         "http://127.0.1.2:8080/api/v1/chassis/660007770088/slots/1/history?key=x%2Fy"),
        ("standby", false, "GET", "/api/v1/chassis?x=1", 400, nil),
        ("standby", false, "GET", "/chassis/660007770088/slots/3", 302, "http://127.0.1.2:8080/chassis/660007770088/slots/3"),
        ("standby", false, "GET", "/api/v1/cluster", 302, "http://127.0.1.2:8080/api/v1/cluster"),
        ("standby", false, "POST", "/api/v1/alerts/11/acknowledge", 307, "http://127.0.1.2:8080/api/v1/alerts/11/acknowledge"),
        ("standby", false, "PUT", "/api/v1/thresholds", 307, "http://127.0.1.2:8080/api/v1/thresholds"),
        ("standby", false, "DELETE", "/api/v1/thresholds/4", 307, "http://127.0.1.2:8080/api/v1/thresholds/4"),
        ("standby", false, "PATCH", "/api/v1/chassis/660007770088/slots/1", 307,
         "http://127.0.1.2:8080/api/v1/chassis/660007770088/slots/1"),
        // An active blade whose lease ran out must not answer as active.
        ("active", false, "GET", "/", 302, "http://127.0.1.2:8080/"),
        ("candidate", false, "GET", "/api/v1/alerts", 302, "http://127.0.1.2:8080/api/v1/alerts"),
        // Never redirected: this blade's own view, health and metrics.
        ("standby", false, "GET", "/api/v1/local", 200, nil),
        ("standby", false, "GET", "/health/active", 503, nil),
        ("active", true, "GET", "/health/active", 200, nil),
        ("standby", false, "GET", "/metrics", 200, nil),
        // Static properties of a route come first: unknown paths and wrong methods are not redirected.
        ("standby", false, "GET", "/nowhere", 404, nil),
        ("standby", false, "POST", "/", 405, nil),
    ]

    @Test(arguments: table)
    func rule(role: String, leaseValid: Bool, method: String, target: String, status: Int, location: String?) throws {
        let source = MemoryStateSource(
            local: Fixture.local(role: ManagerRole(rawValue: role) ?? .unknown, leaseValid: leaseValid, activeURL: role == "active" && leaseValid ? nil : "http://127.0.1.2:8080",
                                 activeAddress: "127.0.1.2"),
            cluster: Fixture.cluster(active: 2))
        let app = try Fixture.app()
        let response = app.handle(app.request(method, target, headers: ["Content-Type": "application/json"]), source: source)
        #expect(response.status == status, "\(role) \(method) \(target)")
        #expect(response.header("Location") == location)
        if status == 302 || status == 307 {
            #expect(response.header("Cache-Control") == "no-store")
        }
    }

    /// Changed by authentication: a Host the chassis does not answer to is now refused (421)
    /// before the redirect rule; with one of its own names, the Location is still the member's
    /// configured URL and never the Host or X-Forwarded-Host.
    @Test func locationNeverComesFromTheHostHeader() throws {
        let app = try Fixture.app()
        let response = app.get("/api/v1/chassis", Self.standby(),
                               headers: ["Host": "chassis.example:80", "X-Forwarded-Host": "evil.example"])
        #expect(response.status == 302)
        #expect(response.header("Location") == "http://127.0.1.2:8080/api/v1/chassis")
        let rebound = app.get("/api/v1/chassis", Self.standby(), headers: ["Host": "evil.example:80"])
        #expect(rebound.status == 421)
        #expect(rebound.header("Location") == nil)
    }

    @Test func anActiveURLThatIsNoMemberIsNotFollowed() throws {
        let source = Self.standby(activeURL: "http://evil.example:8080", activeAddress: "10.0.0.9")
        source.clusterView.active = nil
        let response = try Fixture.app().get("/", source)
        #expect(response.status == 503)
        #expect(response.header("Location") == nil)
    }

    @Test func theMemberByAddressIsUsedWhenTheURLIsMissing() throws {
        let source = Self.standby(activeURL: nil, activeAddress: "127.0.1.3")
        source.clusterView.active = nil
        let response = try Fixture.app().get("/", source)
        #expect(response.header("Location") == "http://127.0.1.3:8080/")
    }

    @Test func aBladeNeverRedirectsToItself() throws {
        let source = Self.standby(activeURL: "http://127.0.1.1:8080", activeAddress: "127.0.1.1")
        source.clusterView.active = nil
        #expect(try Fixture.app().get("/", source).status == 503)
    }

    @Test func rawTargetIsKeptAndMadeHeaderSafe() throws {
        let app = try Fixture.app()
        let response = app.get("/api/v1/chassis/66 é/slots/1?", Self.standby())
        #expect(response.header("Location") == "http://127.0.1.2:8080/api/v1/chassis/66%20%C3%A9/slots/1?")
        let encoded = app.get("/api/v1/chassis/660007770088/slots/1/history?key=filesystem.%2F.free_bytes", Self.standby())
        #expect(encoded.header("Location") == "http://127.0.1.2:8080/api/v1/chassis/660007770088/slots/1/history?key=filesystem.%2F.free_bytes")
        // A CR LF in the target is malformed: refused before any Location is built.
        let split = app.get("/api/v1/chassis?a=%0D%0ASet-Cookie:x=1", Self.standby())
        #expect(split.status == 400)
        #expect(split.header("Location") == nil)
        #expect(URLCoding.headerSafeTarget("/a\r\nb").contains("\r") == false)
        #expect(URLCoding.headerSafeTarget("/a\r\nb") == "/a%0D%0Ab")
    }

    @Test func noActiveManagerIsA503PageThatRefreshesItself() throws {
        let source = MemoryStateSource(local: Fixture.local(role: .candidate, leaseValid: false),
                                       cluster: Fixture.cluster(active: nil, reason: "election under way: term 8, no quorum <yet>"))
        let app = try Fixture.app()
        let page = app.get("/", source)
        #expect(page.status == 503)
        #expect(page.header("Retry-After") == "1")
        #expect(page.header("Cache-Control") == "no-store")
        #expect(page.bodyText.contains("<meta http-equiv=\"refresh\" content=\"2\">"))
        #expect(page.bodyText.contains("election under way: term 8, no quorum &lt;yet&gt;"))

        let api = app.get("/api/v1/chassis", source)
        #expect(api.status == 503)
        #expect(api.header("Content-Type") == MediaType.json)
        let object = try JSONSerialization.jsonObject(with: Data(api.body)) as? [String: Any]
        #expect(object?["error"] as? String == "election under way: term 8, no quorum <yet>")

        let post = app.send("POST", "/api/v1/alerts/11/acknowledge", source)
        #expect(post.status == 503)
    }

    @Test(arguments: [
        ("unknown", "not publishing"),
        ("active", "lease"),
        ("candidate", "election"),
        ("standby", "No active manager"),
    ])
    func reasonsWithoutAClusterReason(role: String, fragment: String) {
        let reason = RedirectRule.reason(local: Fixture.local(role: ManagerRole(rawValue: role) ?? .unknown, leaseValid: false),
                                         cluster: Fixture.cluster(active: nil))
        #expect(reason.contains(fragment))
    }
}
