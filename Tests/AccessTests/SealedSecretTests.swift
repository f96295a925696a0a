import Crypto
import Foundation
import Testing
import ChassisKeys

@Suite struct SealedSecretTests {
    let clusterKey = Array("0123456789abcdef0123456789abcdef".utf8)
    var key: SymmetricKey { SealedSecret.derivedKey(clusterKey: clusterKey, purpose: SealedSecret.caKeyPurpose) }

    func seal(_ text: String, seed: UInt64 = 1) throws -> String {
        var generator = SeededGenerator(seed: seed)
        return try SealedSecret.seal(Array(text.utf8), key: key, using: &generator)
    }

    @Test func aSealedSecretOpensWithTheRightKey() throws {
        let secret = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"
        let sealed = try seal(secret)
        #expect(sealed.hasPrefix("v1:"))
        #expect(!sealed.contains("\n"))
        #expect(!sealed.contains("PRIVATE KEY"))
        #expect(try SealedSecret.open(sealed, key: key) == Array(secret.utf8))
        #expect(try SealedSecret.open(sealed + "\n", key: key) == Array(secret.utf8))
        #expect(try SealedSecret.open(seal(""), key: key) == [])
    }

    @Test func theNonceComesFromTheGenerator() throws {
        #expect(try seal("secret", seed: 1) == seal("secret", seed: 1))
        #expect(try seal("secret", seed: 1) != seal("secret", seed: 2))
    }

    @Test func aWrongKeyIsRejected() throws {
        let sealed = try seal("secret")
        let otherCluster = SealedSecret.derivedKey(clusterKey: Array("another cluster key, 32 bytes!!!".utf8),
                                                   purpose: SealedSecret.caKeyPurpose)
        let otherPurpose = SealedSecret.derivedKey(clusterKey: clusterKey, purpose: "chassis-manager/sessions/v1")
        for wrong in [otherCluster, otherPurpose, SymmetricKey(data: clusterKey)] {
            let error = #expect(throws: SealedSecretError.self) { _ = try SealedSecret.open(sealed, key: wrong) }
            #expect(error?.kind == .rejected)
        }
    }

    @Test func everyFlippedByteIsRejected() throws {
        let sealed = try seal("the authority's private key")
        guard let bytes = Data(base64Encoded: String(sealed.dropFirst(3))).map(Array.init) else {
            Issue.record("not base64")
            return
        }
        for index in bytes.indices {
            var flipped = bytes
            flipped[index] ^= 0x01
            let text = "v1:" + Data(flipped).base64EncodedString()
            let error = #expect(throws: SealedSecretError.self, "byte \(index)") { _ = try SealedSecret.open(text, key: key) }
            #expect(error?.kind == .rejected)
        }
    }

    @Test(arguments: ["", "v1:", "v2:AAAA", "secret", "v1:!!!!", "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "V1:AAAA"])
    func malformedTextIsAnError(text: String) {
        let error = #expect(throws: SealedSecretError.self) { _ = try SealedSecret.open(text, key: key) }
        #expect(error?.kind == .malformed || error?.kind == .rejected)
    }

    @Test func theDerivedKeyIsHKDFSHA256() {
        // The same derivation by hand: HKDF-Extract with an empty salt, then one Expand block.
        let prk = HMAC<SHA256>.authenticationCode(for: clusterKey, using: SymmetricKey(data: [UInt8](repeating: 0, count: 32)))
        let block = HMAC<SHA256>.authenticationCode(for: Array(SealedSecret.caKeyPurpose.utf8) + [1],
                                                    using: SymmetricKey(data: Array(prk)))
        #expect(key.withUnsafeBytes { Array($0) } == Array(block))
        #expect(key.bitCount == 256)
    }

    @Test func aKeyAESDoesNotTakeIsAnError() {
        var generator = SeededGenerator(seed: 1)
        #expect(throws: SealedSecretError.self) {
            _ = try SealedSecret.seal([1, 2, 3], key: SymmetricKey(data: [UInt8](repeating: 1, count: 7)), using: &generator)
        }
    }
}
