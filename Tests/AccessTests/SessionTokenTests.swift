import Crypto
import Foundation
import Testing
@testable import Access

@Suite struct SessionTokenTests {
    static let token = SessionToken(id: "0123456789abcdef0123456789abcdef", user: "alice", generation: 3,
                                    startedAt: 1_764_000_000, renewedAt: 1_764_000_100)

    @Test(arguments: ["alice", "a.b@c-d_e", "Zoë", "user.with.dots", "x"])
    func roundTrip(user: String) throws {
        var token = Self.token
        token.user = user
        let text = token.encode(key: AccessFixture.key)
        #expect(text.hasPrefix("s1.0123456789abcdef0123456789abcdef."))
        #expect(text.split(separator: ".", omittingEmptySubsequences: false).count == 7, "the user's dots are encoded")
        #expect(SessionToken.decode(text, key: AccessFixture.key) == token)
    }

    @Test func theValueIsCookieSafe() {
        let text = Self.token.encode(key: AccessFixture.key)
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.".utf8)
        #expect(text.utf8.allSatisfy { allowed.contains($0) }, "\(text)")
    }

    /// Any change of any bit of the cookie is refused: the fields are covered by the MAC, and the
    /// MAC itself has exactly one spelling.
    @Test func everyFlippedBitIsRefused() {
        let text = Self.token.encode(key: AccessFixture.key)
        var accepted: [String] = []
        for (index, bit, flipped) in AccessFixture.bitFlips(text) where SessionToken.decode(flipped, key: AccessFixture.key) != nil {
            accepted.append("byte \(index) ('\(Array(text.utf8)[index])') bit \(bit): \(flipped)")
        }
        #expect(accepted.isEmpty, "\(accepted.count) altered cookies accepted: \(accepted.prefix(4))")
    }

    /// The part the MAC protects (the session's fields) cannot change under any flip: whatever the
    /// MAC's spelling, the decoded session is the original or nothing.
    @Test func noFlipChangesTheSession() {
        let text = Self.token.encode(key: AccessFixture.key)
        for (_, _, flipped) in AccessFixture.bitFlips(text) {
            if let decoded = SessionToken.decode(flipped, key: AccessFixture.key) { #expect(decoded == Self.token) }
        }
    }

    @Test func wrongKeyIsRefused() {
        #expect(SessionToken.decode(Self.token.encode(key: AccessFixture.key), key: AccessFixture.otherKey) == nil)
        #expect(SessionToken.decode(Self.token.encode(key: AccessFixture.otherKey), key: AccessFixture.key) == nil)
    }

    @Test func oversizeIsRefusedEvenWithAGoodMAC() {
        var token = Self.token
        token.user = String(repeating: "u", count: 400)
        let text = token.encode(key: AccessFixture.key)
        #expect(text.utf8.count > SessionToken.bytesMax)
        #expect(SessionToken.decode(text, key: AccessFixture.key) == nil)
        token.user = String(repeating: "u", count: 200)
        let fits = token.encode(key: AccessFixture.key)
        #expect(fits.utf8.count <= SessionToken.bytesMax)
        #expect(SessionToken.decode(fits, key: AccessFixture.key) == token)
    }

    @Test func fieldsOfTheWrongShapeAreRefusedEvenWhenSigned() {
        // Signed with the right key, but not what encode writes: a non-hex id, a negative number,
        // another prefix, a field too many.
        func signed(_ body: String) -> String { body + "." + WebKey.mac(body, key: AccessFixture.key) }
        let user = Base64.encode(Array("alice".utf8), padding: false, url: true)
        #expect(SessionToken.decode(signed("s1.0123456789abcdef.\(user).1.10.10"), key: AccessFixture.key) != nil)
        #expect(SessionToken.decode(signed("s1.XYZ.\(user).1.10.10"), key: AccessFixture.key) == nil)
        #expect(SessionToken.decode(signed("s1.0123456789ABCDEF.\(user).1.10.10"), key: AccessFixture.key) == nil)
        #expect(SessionToken.decode(signed("s1.0123456789abcdef.\(user).-1.10.10"), key: AccessFixture.key) == nil)
        #expect(SessionToken.decode(signed("s1.0123456789abcdef.\(user).1.10"), key: AccessFixture.key) == nil)
        #expect(SessionToken.decode(signed("s1.0123456789abcdef.\(user).1.10.10.10"), key: AccessFixture.key) == nil)
        #expect(SessionToken.decode(signed("s2.0123456789abcdef.\(user).1.10.10"), key: AccessFixture.key) == nil)
        #expect(SessionToken.decode(signed("s1.0123456789abcdef.\(user).1.10.9999999999999999999"), key: AccessFixture.key) == nil)
        #expect(SessionToken.decode(signed("s1.0123456789abcdef.!!.1.10.10"), key: AccessFixture.key) == nil)
    }

    @Test(arguments: ["", ".", "s1", "s1.", "s1......", "garbage", "s1.a.b.c.d.e.f"])
    func garbageIsRefused(text: String) {
        #expect(SessionToken.decode(text, key: AccessFixture.key) == nil)
    }
}

@Suite struct TransferTicketTests {
    static let ticket = TransferTicket(
        id: "fedcba9876543210fedcba9876543210",
        session: SessionToken(id: "0123456789abcdef0123456789abcdef", user: "alice", generation: 3, startedAt: 1_764_000_000,
                              renewedAt: 1_764_000_000),
        expiresAt: 1_764_000_090)

    @Test func roundTrip() {
        let text = Self.ticket.encode(key: AccessFixture.key)
        #expect(text.hasPrefix("t1.fedcba9876543210fedcba9876543210.0123456789abcdef0123456789abcdef."))
        #expect(TransferTicket.decode(text, key: AccessFixture.key) == Self.ticket)
    }

    @Test func everyFlippedBitIsRefused() {
        let text = Self.ticket.encode(key: AccessFixture.key)
        var accepted: [String] = []
        for (index, bit, flipped) in AccessFixture.bitFlips(text) where TransferTicket.decode(flipped, key: AccessFixture.key) != nil {
            accepted.append("byte \(index) bit \(bit): \(flipped)")
        }
        #expect(accepted.isEmpty, "\(accepted.count) altered tickets accepted: \(accepted.prefix(4))")
        for (_, _, flipped) in AccessFixture.bitFlips(text) {
            if let decoded = TransferTicket.decode(flipped, key: AccessFixture.key) { #expect(decoded == Self.ticket) }
        }
    }

    @Test func wrongKeyIsRefused() {
        #expect(TransferTicket.decode(Self.ticket.encode(key: AccessFixture.key), key: AccessFixture.otherKey) == nil)
    }

    @Test func oversizeIsRefused() {
        var ticket = Self.ticket
        ticket.session.user = String(repeating: "u", count: 400)
        #expect(TransferTicket.decode(ticket.encode(key: AccessFixture.key), key: AccessFixture.key) == nil)
    }

    @Test func aTicketIsNotASessionNorTheOtherWay() {
        let ticket = Self.ticket.encode(key: AccessFixture.key)
        let session = Self.ticket.session.encode(key: AccessFixture.key)
        #expect(SessionToken.decode(ticket, key: AccessFixture.key) == nil)
        #expect(TransferTicket.decode(session, key: AccessFixture.key) == nil)
    }
}

@Suite struct APITokenTests {
    @Test func mintParseAndHash() throws {
        var random = SeededGenerator(seed: 3)
        let minted = APIToken.mint(using: &random)
        #expect(minted.text.range(of: "^cm_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$", options: .regularExpression) != nil, "\(minted.text)")
        #expect(minted.text.hasPrefix("cm_" + minted.id + "_"))
        let parsed = try #require(APIToken.parse(minted.text))
        #expect(parsed.id == minted.id)
        #expect(minted.text == "cm_\(parsed.id)_\(parsed.secret)")
        #expect(APIToken.hash(secret: parsed.secret) == minted.secretHash)
        #expect(minted.secretHash.range(of: "^[0-9a-f]{64}$", options: .regularExpression) != nil)
        #expect(!minted.secretHash.contains(parsed.secret))
        let other = APIToken.mint(using: &random)
        #expect(other.id != minted.id && other.text != minted.text && other.secretHash != minted.secretHash)
    }

    @Test func hashIsSHA256OfTheSecretText() {
        #expect(APIToken.hash(secret: "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    static let secret = Base64.encode([UInt8](repeating: 9, count: 32), padding: false, url: true)

    @Test(arguments: [
        "", "cm_", "0123456789abcdef_\(secret)", "xx_0123456789abcdef_\(secret)", "cm_0123456789abcde_\(secret)",
        "cm_0123456789ABCDEF_\(secret)", "cm_0123456789abcdef\(secret)", "cm_0123456789abcdef_\(secret.dropLast())",
        "cm_0123456789abcdef_\(secret)A", "cm_0123456789abcdef_\(secret.dropLast())!", "cm_0123456789abcdeg_\(secret)",
        "cm_0123456789abcdef_\(secret)" + String(repeating: "A", count: 80), "Bearer cm_0123456789abcdef_\(secret)",
    ])
    func malformedTokensAreRefused(text: String) {
        #expect(APIToken.parse(text) == nil, "\(text)")
    }

    @Test func aWellFormedTokenParses() {
        let parsed = APIToken.parse("cm_0123456789abcdef_\(Self.secret)")
        #expect(parsed?.id == "0123456789abcdef")
        #expect(parsed?.secret == Self.secret)
    }
}
