import Foundation
import Testing
import Control
import Model
@testable import Web

@Suite struct RoutesTests {
    static let statusTable: [(String, String, Int)] = [
        ("GET", "/", 200),
        ("HEAD", "/", 200),
        ("GET", "/chassis/660007770088/slots/1", 200),
        ("GET", "/chassis/660007770088/slots/2", 200),
        ("GET", "/chassis/660007770088/slots/5", 200),
        ("GET", "/chassis/660007770088/slots/9", 404),
        ("GET", "/chassis/000000000000/slots/1", 404),
        ("GET", "/chassis/660007770088/slots/abc", 400),
        ("GET", "/chassis/660007770088/slots/-1", 400),
        ("GET", "/api/v1/chassis", 200),
        ("GET", "/api/v1/chassis/", 200),
        ("GET", "/api/v1/chassis/660007770088/slots/3", 200),
        ("GET", "/api/v1/chassis/660007770088/slots/x", 400),
        ("GET", "/api/v1/chassis/660007770088/slots/7", 404),
        ("GET", "/api/v1/chassis/660007770088/slots/1/history?key=cpu.total.utilisation&seconds=600", 200),
        ("GET", "/api/v1/chassis/660007770088/slots/1/history?key=cpu.total.utilisation&key=memory.available_bytes", 200),
        ("GET", "/api/v1/chassis/660007770088/slots/0/history?key=psu.1.power", 200),
        ("GET", "/api/v1/chassis/660007770088/slots/1/history", 400),
        ("GET", "/api/v1/chassis/660007770088/slots/1/history?key=no.such.key", 400),
        ("GET", "/api/v1/chassis/660007770088/slots/1/history?key=cpu.total.utilisation&seconds=abc", 400),
        ("GET", "/api/v1/chassis/660007770088/slots/1/history?key=cpu.total.utilisation&seconds=-5", 400),
        ("GET", "/api/v1/chassis/660007770088/slots/1/history?key=cpu.total.utilisation&seconds=99999999", 400),
        ("GET", "/api/v1/chassis/660007770088/slots/1/history?key=%ZZ", 400),
        ("GET", "/api/v1/chassis/660007770088/slots/1/history?key=%C3%28", 400),
        ("GET", "/api/v1/chassis?bogus=1", 400),
        ("GET", "/?from=bookmark", 200),
        ("GET", "/?%zz", 400),
        ("GET", "/api/v1/local", 200),
        ("GET", "/api/v1/cluster", 200),
        ("GET", "/api/v1/alerts", 200),
        ("GET", "/health/active", 200),
        ("GET", "/metrics", 200),
        ("GET", "/nowhere", 404),
        ("GET", "/api/v1/nowhere", 404),
        ("GET", "/api/v2/chassis", 404),
        ("GET", "/%zz", 400),
        ("POST", "/", 405),
        ("DELETE", "/api/v1/chassis", 405),
        ("GET", "/api/v1/alerts/11/acknowledge", 405),
        ("GET", "/api/v1/thresholds", 200),
        ("GET", "/api/v1/alerts/11/acknowledge", 405),
        ("POST", "/api/v1/thresholds/3", 405),
        ("POST", "/api/v1/alerts/11/acknowledge", 200),
        ("POST", "/api/v1/alerts/zero/acknowledge", 400),
        ("DELETE", "/api/v1/thresholds/3", 200),
        ("DELETE", "/api/v1/thresholds/-3", 400),
    ]

    @Test(arguments: statusTable)
    func status(method: String, target: String, expected: Int) throws {
        let app = try Fixture.app()
        let response = app.handle(app.request(method, target), source: MemoryStateSource())
        #expect(response.status == expected, "\(method) \(target): \(response.bodyText.prefix(300))")
        if method != "HEAD" { #expect(response.header("Content-Length") == String(response.body.count)) }
    }

    @Test func headHasNoBodyButALength() throws {
        let app = try Fixture.app()
        let get = app.get("/", MemoryStateSource())
        let head = app.handle(app.request("HEAD", "/"), source: MemoryStateSource())
        #expect(head.body.isEmpty)
        #expect(head.header("Content-Length") == String(get.body.count))
    }

    @Test func methodNotAllowedSaysWhatIs() throws {
        let app = try Fixture.app()
        let response = app.send("GET", "/api/v1/alerts/11/acknowledge", MemoryStateSource())
        #expect(response.status == 405)
        #expect(response.header("Allow") == "POST")
        let slot = app.send("DELETE", "/api/v1/chassis/660007770088/slots/1", MemoryStateSource())
        #expect(slot.header("Allow") == "GET, HEAD, PATCH, POST")
    }

    @Test(arguments: ["/nowhere", "/chassis/660007770088/slots/99", "/chassis/660007770088"])
    func notFoundIsAnHTMLPageWithTheBanner(target: String) throws {
        let response = try Fixture.app().get(target, MemoryStateSource())
        #expect(response.status == 404)
        #expect(response.header("Content-Type") == MediaType.html)
        #expect(response.bodyText.contains("id=\"alert-banner\""))
        #expect(response.bodyText.contains("Not Found"))
    }

    @Test(arguments: ["/api/v1/nowhere", "/api/v1/chassis/1/slots/1"])
    func notFoundUnderAPIIsJSON(target: String) throws {
        let response = try Fixture.app().get(target, MemoryStateSource())
        #expect(response.status == 404)
        #expect(response.header("Content-Type") == MediaType.json)
        let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        #expect(object?["error"] is String)
    }

    @Test func oversizedBodyIsRefusedFromTheDeclaredLength() throws {
        let app = try Fixture.app()
        let control = RecordingControl()
        let request = Request(method: "PUT", target: "/api/v1/thresholds", headers: ["Content-Type": "application/json"],
                              body: [], contentLength: 64 * 1024 + 1)
        let response = WebApp(templates: app.templates, control: control, access: Fixture.settings())
            .handle(request, source: MemoryStateSource())
        #expect(response.status == 413)
        #expect(control.requests.isEmpty)
        let actual = Request(method: "PUT", target: "/api/v1/thresholds", body: Array(repeating: 0x20, count: 64 * 1024 + 1))
        #expect(app.handle(actual, source: MemoryStateSource()).status == 413)
    }

    @Test func overlongTargetIs414() throws {
        let target = "/api/v1/chassis?" + String(repeating: "a", count: 9_000)
        #expect(try Fixture.app().get(target, MemoryStateSource()).status == 414)
    }

    @Test func storeFailureIs503WithRetryAfter() throws {
        let source = MemoryStateSource()
        source.failing = true
        let app = try Fixture.app()
        for target in ["/", "/api/v1/chassis", "/api/v1/local", "/metrics"] {
            let response = app.get(target, source)
            #expect(response.status == 503, "\(target)")
            #expect(response.header("Retry-After") == "1")
        }
        let unopened = app.storeUnavailable(Request(method: "GET", target: "/api/v1/chassis"), reason: "no such file")
        #expect(unopened.status == 503)
        #expect(unopened.bodyText.contains("no such file"))
    }

    @Test func snapshotIsReadOnlyWhenTheDataVersionChanges() throws {
        let app = try Fixture.app()
        let source = MemoryStateSource()
        for _ in 0..<5 { _ = app.get("/api/v1/chassis", source) }
        _ = app.get("/", source)
        _ = app.get("/metrics", source)
        #expect(source.snapshotReads == 1)
        source.version = "v2"
        _ = app.get("/api/v1/chassis", source)
        #expect(source.snapshotReads == 2)
        // Another thread's source at the same version reuses the shared snapshot.
        let other = MemoryStateSource()
        other.version = "v2"
        _ = app.get("/api/v1/alerts", other)
        #expect(other.snapshotReads == 0)
    }

    @Test func requestFromCGIParameters() {
        let request = Request.fromCGI(parameters: [
            "REQUEST_METHOD": "post", "REQUEST_URI": "/api/v1/alerts/3/acknowledge?x=%20", "QUERY_STRING": "x=%20",
            "HTTP_HOST": "127.0.1.1:8080", "HTTP_IF_NONE_MATCH": "\"abc\"", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": "2", "REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4",
        ], body: Array("{}".utf8))
        #expect(request.method == "POST")
        #expect(request.rawPath == "/api/v1/alerts/3/acknowledge")
        #expect(request.rawQuery == "x=%20")
        #expect(request.header("Host") == "127.0.1.1:8080")
        #expect(request.header("If-None-Match") == "\"abc\"")
        #expect(request.header("content-type") == "application/json")
        #expect(request.header("x-forwarded-for") == "1.2.3.4")
        #expect(request.contentLength == 2)
        #expect(request.remoteAddress == "127.0.0.1")
    }

    @Test func cgiHeadCarriesTheReasonPhrase() {
        let response = Response(status: 302, headers: [("Location", "http://127.0.1.2:8080/")])
        #expect(response.cgiHead() == "Status: 302 Found\r\nLocation: http://127.0.1.2:8080/\r\n\r\n")
    }

    @Test(arguments: [
        ("a=1&b=x%20y", [("a", "1"), ("b", "x y")]),
        ("key=filesystem.%2F.free_bytes", [("key", "filesystem./.free_bytes")]),
        ("q=a+b", [("q", "a b")]),
        ("flag", [("flag", "")]),
    ])
    func queryParsing(raw: String, expected: [(String, String)]) throws {
        let parsed = try URLCoding.parseQuery(raw)
        #expect(parsed.map(\.name) == expected.map(\.0))
        #expect(parsed.map(\.value) == expected.map(\.1))
    }

    @Test(arguments: ["%", "%4", "%G0", "a=%FF", "a=%C3%28", "a=%00", "a=%0A"])
    func malformedQueries(raw: String) {
        #expect(throws: MalformedRequest.self) { try URLCoding.parseQuery(raw) }
    }
}
