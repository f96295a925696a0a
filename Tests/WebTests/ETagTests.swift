import Foundation
import Testing
import Model
@testable import Web

@Suite struct ETagTests {
    static let polled = [
        "/api/v1/chassis",
        "/api/v1/chassis/660007770088/slots/2",
        "/api/v1/alerts",
        "/api/v1/chassis/660007770088/slots/1/history?key=cpu.total.utilisation",
    ]

    @Test(arguments: polled)
    func notModifiedWhenTheDataVersionIsTheSame(target: String) throws {
        let app = try Fixture.app()
        let source = MemoryStateSource()
        let first = app.get(target, source)
        #expect(first.status == 200)
        #expect(first.header("Cache-Control") == "no-cache")
        let etag = try #require(first.header("ETag"))
        #expect(etag.hasPrefix("\"") && etag.hasSuffix("\""))

        let second = app.get(target, source, headers: ["If-None-Match": etag])
        #expect(second.status == 304)
        #expect(second.body.isEmpty)
        #expect(second.header("ETag") == etag)

        source.version = "v2"
        let third = app.get(target, source, headers: ["If-None-Match": etag])
        #expect(third.status == 200)
        #expect(third.header("ETag") != etag)
    }

    @Test func routesHaveTheirOwnTags() throws {
        let app = try Fixture.app()
        let source = MemoryStateSource()
        let a = app.get("/api/v1/chassis", source).header("ETag")
        let b = app.get("/api/v1/alerts", source).header("ETag")
        #expect(a != b)
        #expect(app.get("/api/v1/alerts", source, headers: ["If-None-Match": a!]).status == 200)
    }

    @Test func theTagChangesWhenTheEngineTurnsStale() throws {
        let source = MemoryStateSource()
        let fresh = try Fixture.app(clock: Fixture.now).get("/api/v1/chassis", source)
        let later = try Fixture.app(clock: Fixture.now + 60)
        let stale = later.get("/api/v1/chassis", source, headers: ["If-None-Match": fresh.header("ETag")!])
        #expect(stale.status == 200)
        let object = try JSONSerialization.jsonObject(with: Data(stale.body)) as? [String: Any]
        #expect(object?["stale"] as? Bool == true)
        #expect(object?["staleSince"] as? Double == Fixture.now - 1)
    }

    @Test(arguments: [
        ("\"abc\"", true), ("W/\"abc\"", true), ("\"x\", \"abc\"", true), ("*", true), ("\"abcd\"", false), ("abc", false),
    ])
    func ifNoneMatchParsing(field: String, matches: Bool) {
        #expect(ETag.matches(ifNoneMatch: field, etag: "\"abc\"") == matches)
    }
}
