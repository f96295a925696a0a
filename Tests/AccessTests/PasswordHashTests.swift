import ChassisKeys
import Foundation
import Testing
@testable import Access

@Suite struct PasswordHashTests {
    static let password = "correct horse battery staple"

    @Test func makeWritesAPHCStringWithItsParameters() throws {
        let stored = try PasswordHash.make(password: Self.password, parameters: .fast)
        #expect(stored.hasPrefix("$scrypt$ln=10,r=8,p=1$"))
        let fields = stored.split(separator: "$", omittingEmptySubsequences: false)
        #expect(fields.count == 5)
        #expect(Base64.decode(fields[3])?.count == PasswordHash.saltBytes)
        #expect(Base64.decode(fields[4])?.count == PasswordHash.hashBytes)
        #expect(!fields[3].contains("=") && !fields[4].contains("="), "PHC strings are unpadded")
        let parsed = try PasswordHash.parse(stored)
        #expect(parsed.parameters == .fast)
        #expect(!stored.contains(Self.password))
    }

    @Test func verifyAcceptsTheRightPasswordOnly() throws {
        let stored = try PasswordHash.make(password: Self.password, parameters: .fast)
        #expect(PasswordHash.verify(password: Self.password, stored: stored))
        #expect(!PasswordHash.verify(password: Self.password + " ", stored: stored))
        #expect(!PasswordHash.verify(password: "correct horse battery stapl", stored: stored))
        #expect(!PasswordHash.verify(password: "Correct horse battery staple", stored: stored))
        #expect(!PasswordHash.verify(password: "", stored: stored))
    }

    @Test func eachHashHasItsOwnSaltFromTheGenerator() throws {
        let a = try PasswordHash.make(password: Self.password, parameters: .fast)
        let b = try PasswordHash.make(password: Self.password, parameters: .fast)
        #expect(a != b)
        #expect(PasswordHash.verify(password: Self.password, stored: a) && PasswordHash.verify(password: Self.password, stored: b))
        var first = SeededGenerator(seed: 7)
        var second = SeededGenerator(seed: 7)
        #expect(try PasswordHash.make(password: Self.password, parameters: .fast, using: &first)
            == PasswordHash.make(password: Self.password, parameters: .fast, using: &second))
    }

    /// RFC 7914 §12: scrypt("pleaseletmein", "SodiumChloride", N = 16384, r = 8, p = 1); the first 32
    /// bytes of its 64-byte answer are the 32-byte answer (PBKDF2's blocks are independent). A
    /// hash written by another scrypt implementation verifies: the parameters are read from the
    /// string and mean what they say.
    @Test func aKnownAnswerFromRFC7914Verifies() throws {
        let expected = Hex.decode("7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2")!
        let stored = "$scrypt$ln=14,r=8,p=1$" + Base64.encode(Array("SodiumChloride".utf8), padding: false) + "$"
            + Base64.encode(expected, padding: false)
        #expect(PasswordHash.verify(password: "pleaseletmein", stored: stored))
        #expect(!PasswordHash.verify(password: "pleaseletmeout", stored: stored))
        let other = "$scrypt$ln=13,r=8,p=1$" + Base64.encode(Array("SodiumChloride".utf8), padding: false) + "$"
            + Base64.encode(expected, padding: false)
        #expect(!PasswordHash.verify(password: "pleaseletmein", stored: other), "N is part of the hash")
    }

    static let salt = Base64.encode([UInt8](repeating: 1, count: 16), padding: false)
    static let digest = Base64.encode([UInt8](repeating: 2, count: 32), padding: false)

    static let malformed: [String] = [
        "",
        "$scrypt$",
        "scrypt$ln=10,r=8,p=1$\(salt)$\(digest)",
        "$argon2id$ln=10,r=8,p=1$\(salt)$\(digest)",
        "$scrypt$ln=10,r=8$\(salt)$\(digest)",
        "$scrypt$ln=10,p=1$\(salt)$\(digest)",
        "$scrypt$r=8,p=1$\(salt)$\(digest)",
        "$scrypt$ln=10,r=8,p=1$\(salt)",
        "$scrypt$ln=10,r=8,p=1$\(salt)$\(digest)$extra",
        "$scrypt$ln=1e1,r=8,p=1$\(salt)$\(digest)",
        "$scrypt$ln=-1,r=8,p=1$\(salt)$\(digest)",
        "$scrypt$ln=+10,r=8,p=1$\(salt)$\(digest)",
        "$scrypt$ln=0010,r=8,p=1$\(salt)$\(digest)",
        "$scrypt$ln=99999999999999999999,r=8,p=1$\(salt)$\(digest)",
        "$scrypt$ln=,r=8,p=1$\(salt)$\(digest)",
        "$scrypt$ln=10,r=8,p=1$!!!!$\(digest)",
        "$scrypt$ln=10,r=8,p=1$\(salt)$not*base64",
        "$scrypt$ln=10,r=8,p=1$\(Base64.encode([UInt8](repeating: 1, count: 4), padding: false))$\(digest)",
        "$scrypt$ln=10,r=8,p=1$\(salt)$\(Base64.encode([UInt8](repeating: 2, count: 8), padding: false))",
        "$scrypt$ln=10,r=8,p=1$\(salt)$\(Base64.encode([UInt8](repeating: 2, count: 65), padding: false))",
        "$scrypt$ln=10,r=8,p=1$\(Base64.encode([UInt8](repeating: 1, count: 65), padding: false))$\(digest)",
    ]

    @Test(arguments: malformed)
    func malformedStringsAreRefused(stored: String) {
        #expect(throws: PasswordHash.Problem.self) { try PasswordHash.parse(stored) }
        #expect(!PasswordHash.verify(password: "anything", stored: stored))
    }

    /// Costs a stored string may not ask for. Each is refused by `parse` with "out of range",
    /// and `verify` derives only from what `parse` returned: no scrypt run, no allocation.
    static let outOfRange: [String] = [
        "ln=30,r=8,p=1", "ln=19,r=8,p=1", "ln=20,r=8,p=1", "ln=999,r=8,p=1", "ln=9,r=8,p=1", "ln=0,r=8,p=1",
        "ln=10,r=0,p=1", "ln=10,r=17,p=1", "ln=10,r=999,p=1", "ln=10,r=8,p=0", "ln=10,r=8,p=5", "ln=10,r=8,p=999",
        // A later duplicate wins: it must be checked too.
        "ln=10,r=8,p=1,ln=30",
    ]

    @Test(arguments: outOfRange)
    func hostileCostsAreRefusedBeforeAnyWork(parameters: String) throws {
        let stored = "$scrypt$\(parameters)$\(Self.salt)$\(Self.digest)"
        do {
            _ = try PasswordHash.parse(stored)
            Issue.record("\(parameters) was accepted")
        } catch let problem as PasswordHash.Problem {
            #expect(problem.description == "scrypt parameters out of range")
        }
        #expect(!PasswordHash.verify(password: "anything", stored: stored))
    }

    @Test func theLargestAcceptedCostsParseWithoutRunning() throws {
        let parsed = try PasswordHash.parse("$scrypt$ln=18,r=8,p=1$\(Self.salt)$\(Self.digest)")
        #expect(parsed.parameters == PasswordHash.Parameters(logRounds: 18, blockSize: 8, parallelism: 1))
        #expect(parsed.salt == [UInt8](repeating: 1, count: 16))
        #expect(parsed.hash == [UInt8](repeating: 2, count: 32))
    }

    /// The bounds' own comment: "at most 2^20 × 8 × 128 bytes (1 GiB is refused)". Each parameter
    /// is bounded on its own, but together ln=18, r=16, p=4 come to 2^18 × 16 × 128 × 4 = 2 GiB by
    /// `memoryBytes` (and 64 times the CPU of the standard cost per login).
    @Test func combinedCostsAreBoundedToo() throws {
        let stored = "$scrypt$ln=18,r=16,p=4$\(Self.salt)$\(Self.digest)"
        #expect(throws: PasswordHash.Problem.self, "a stored hash may ask for 2 GiB") { try PasswordHash.parse(stored) }
    }

    @Test func newPasswordShape() {
        #expect(PasswordHash.problem(withNewPassword: "short") != nil)
        #expect(PasswordHash.problem(withNewPassword: "12345678") == nil)
        #expect(PasswordHash.problem(withNewPassword: String(repeating: "x", count: 1_025)) != nil)
        #expect(PasswordHash.problem(withNewPassword: String(repeating: "x", count: 1_024)) == nil)
        #expect(PasswordHash.problem(withNewPassword: "tab\there-x") != nil)
        #expect(PasswordHash.problem(withNewPassword: "del\u{7F}here-x") != nil)
        // Nothing about the password itself is in the message.
        #expect(PasswordHash.problem(withNewPassword: "secretXY\n")?.contains("secretXY") == false)
        #expect(!PasswordHash.verify(password: String(repeating: "x", count: 1_025), stored: PasswordHash.decoy))
    }

    @Test func theDecoyIsAWellFormedHash() throws {
        #expect(PasswordHash.decoy.hasPrefix("$scrypt$"))
        #expect(try PasswordHash.parse(PasswordHash.decoy).parameters == .standard)
    }

    @Test func constantTimeEqualCompares() {
        #expect(constantTimeEqual([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!constantTimeEqual([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        #expect(!constantTimeEqual([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        #expect(constantTimeEqual([] as [UInt8], [] as [UInt8]))
    }
}

@Suite struct Base64Tests {
    /// RFC 4648 §10.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test(arguments: vectors)
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.encode(Array(plain.utf8), padding: false) == encoded.replacingOccurrences(of: "=", with: ""))
        #expect(Base64.decode(encoded) == Array(plain.utf8))
        #expect(Base64.decode(encoded.replacingOccurrences(of: "=", with: "")) == Array(plain.utf8))
    }

    @Test func roundTripsEveryLengthInBothAlphabets() {
        var random = SeededGenerator(seed: 1)
        for count in 0...70 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            for padding in [true, false] {
                for url in [true, false] {
                    let text = Base64.encode(bytes, padding: padding, url: url)
                    #expect(Base64.decode(text) == bytes, "\(count) \(padding) \(url)")
                    if url { #expect(!text.contains("+") && !text.contains("/")) }
                    if !padding { #expect(!text.contains("=")) }
                }
            }
        }
    }

    @Test func theURLAlphabetDiffersOnlyInTwoSymbols() {
        #expect(Base64.encode([0xFB, 0xFF]) == "+/8=")
        #expect(Base64.encode([0xFB, 0xFF], padding: false, url: true) == "-_8")
        #expect(Base64.decode("-_8") == [0xFB, 0xFF])
    }

    @Test(arguments: ["Z", "Zg=", "Zg===", "Zm9v=", "Zg=a", "=Zg=", "====", "==", "Zm 9v", "Zm9v\n", "Zm9v!", "Zé==", "Zm9vY", "Zg==Zg=="])
    func malformedIsRefused(text: String) {
        #expect(Base64.decode(text) == nil, "\(text)")
    }

    /// "Strict on decode": an encoding whose unused low bits are set is not the encoding of any
    /// bytes (RFC 4648 §3.5). Accepting it makes every MAC writable four ways (a 32-byte MAC has
    /// two spare bits), so a flipped bit in a cookie's last character goes unnoticed.
    @Test(arguments: ["Zh==", "Zh", "Zm9=", "Zm9", "QR==", "AB"])
    func nonCanonicalTrailingBitsAreRefused(text: String) {
        #expect(Base64.decode(text) == nil, "\(text) decodes to \(Base64.decode(text) ?? [])")
    }
}

@Suite struct HexTests {
    @Test func roundTripAndCase() {
        var random = SeededGenerator(seed: 2)
        for count in 0...40 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            let text = Hex.encode(bytes)
            #expect(text.count == count * 2)
            #expect(text == text.lowercased())
            #expect(Hex.decode(text) == bytes)
            #expect(Hex.decode(text.uppercased()) == bytes)
        }
        #expect(Hex.encode([0x00, 0xFF, 0x10, 0xAB]) == "00ff10ab")
    }

    @Test(arguments: ["a", "abc", "zz", "0x12", " 12", "12 ", "1g", "é1"])
    func malformedIsRefused(text: String) {
        #expect(Hex.decode(text) == nil)
    }
}
