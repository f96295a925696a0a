import Foundation
import Testing
@testable import Access

/// The site's credential, seal and ticket: each made with one site key and refused with any
/// other, after any flipped character, outside its time.
@Suite struct SiteTrustTests {
    static let keys = SiteKeys(root: [UInt8](repeating: 0x21, count: 32))
    static let otherKeys = SiteKeys(root: [UInt8](repeating: 0x22, count: 32))
    static let now: Int64 = 1_764_000_000

    static func credential(at seconds: Int64 = now) -> SiteCredential {
        var random = SystemRandomNumberGenerator()
        return SiteCredential.make(from: "660007770088", seconds: seconds, using: &random)
    }

    @Test func aCredentialIsAcceptedWithinAMinuteAndWithTheSameKeyOnly() {
        let credential = Self.credential()
        let text = credential.encode(keys: Self.keys)
        #expect(SiteCredential.verify(text, keys: Self.keys, now: Self.now) == credential)
        #expect(SiteCredential.verify(text, keys: Self.keys, now: Self.now + 60) == credential)
        #expect(SiteCredential.verify(text, keys: Self.keys, now: Self.now - 60) == credential)
        #expect(SiteCredential.verify(text, keys: Self.keys, now: Self.now + 61) == nil)
        #expect(SiteCredential.verify(text, keys: Self.otherKeys, now: Self.now) == nil)
        // Every single changed character is refused.
        let characters = Array(text)
        for index in characters.indices {
            var changed = characters
            changed[index] = changed[index] == "a" ? "b" : "a"
            #expect(SiteCredential.verify(String(changed), keys: Self.keys, now: Self.now) == nil, "\(index)")
        }
        for hostile in ["", "c1", "c1.a.b.c.d", String(repeating: "c1.", count: 200), "c1.660007770088.1764000000..00",
                        "c1.6600077700.88.1764000000.\(credential.nonce).00"] {
            #expect(SiteCredential.verify(hostile, keys: Self.keys, now: Self.now) == nil)
        }
    }

    @Test func aSealOpensOnlyForItsQuestionItsBladeAndItsKey() throws {
        let credential = Self.credential()
        let plain = Array("{\"name\":\"Row B\"}".utf8)
        let sealed = try SiteSeal.seal(plain, keys: Self.keys, for: credential, answeredBy: "blade1")
        #expect(SiteSeal.open(sealed, keys: Self.keys, for: credential, answeredBy: "blade1") == plain)
        #expect(SiteSeal.open(sealed, keys: Self.keys, for: Self.credential(), answeredBy: "blade1") == nil, "another nonce")
        #expect(SiteSeal.open(sealed, keys: Self.keys, for: credential, answeredBy: "blade2") == nil)
        #expect(SiteSeal.open(sealed, keys: Self.otherKeys, for: credential, answeredBy: "blade1") == nil)
        var characters = Array(sealed)
        characters[characters.count / 2] = characters[characters.count / 2] == "A" ? "B" : "A"
        #expect(SiteSeal.open(String(characters), keys: Self.keys, for: credential, answeredBy: "blade1") == nil)
        for hostile in ["", "AAAA", String(repeating: "A", count: 40), "!!!"] {
            #expect(SiteSeal.open(hostile, keys: Self.keys, for: credential, answeredBy: "blade1") == nil)
        }
    }

    @Test func aTicketIsForOneChassisForAMinute() {
        var random = SystemRandomNumberGenerator()
        let ticket = SiteTicket.make(from: "660007770088", to: "660007770089", user: "O'Brien <ops>", now: Double(Self.now),
                                     using: &random)
        let text = ticket.encode(keys: Self.keys)
        #expect(SiteTicket.redeemable(text, keys: Self.keys, chassisID: "660007770089", now: Double(Self.now)) == ticket)
        #expect(SiteTicket.redeemable(text, keys: Self.keys, chassisID: "660007770089", now: Double(Self.now + 59)) == ticket)
        #expect(SiteTicket.redeemable(text, keys: Self.keys, chassisID: "660007770089", now: Double(Self.now + 60)) == nil)
        #expect(SiteTicket.redeemable(text, keys: Self.keys, chassisID: "660007770088", now: Double(Self.now)) == nil)
        #expect(SiteTicket.redeemable(text, keys: Self.otherKeys, chassisID: "660007770089", now: Double(Self.now)) == nil)
        // A ticket dated far ahead (a clock set wrong where it was made) is not taken either.
        let ahead = SiteTicket.make(from: "660007770088", to: "660007770089", user: "ops", now: Double(Self.now + 600), using: &random)
        #expect(SiteTicket.redeemable(ahead.encode(keys: Self.keys), keys: Self.keys, chassisID: "660007770089", now: Double(Self.now)) == nil)
        let characters = Array(text)
        for index in characters.indices {
            var changed = characters
            changed[index] = changed[index] == "a" ? "b" : "a"
            #expect(SiteTicket.redeemable(String(changed), keys: Self.keys, chassisID: "660007770089", now: Double(Self.now)) == nil,
                    "\(index)")
        }
    }

    @Test func theSiteKeyFileIsSixtyFourHexDigits() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("site-key-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = directory + "/site.key"
        try (String(repeating: "21", count: 32) + "\n").write(toFile: good, atomically: true, encoding: .utf8)
        let loaded = try SiteKeys.load(path: good)
        let credential = Self.credential()
        #expect(SiteCredential.verify(credential.encode(keys: loaded), keys: Self.keys, now: Self.now) == credential)
        let bad = directory + "/bad.key"
        try "not hex\n".write(toFile: bad, atomically: true, encoding: .utf8)
        #expect(throws: (any Error).self) { try SiteKeys.load(path: bad) }
        #expect(throws: (any Error).self) { try SiteKeys.load(path: directory + "/missing.key") }
    }
}
