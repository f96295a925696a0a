import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A secret sealed with AES-256-GCM into text, so that it can travel where only text goes and
/// where others may read it: the chassis authority's private key travels in the replicated log,
/// sealed under a key derived from the cluster key, so that every member (and only a holder of
/// the cluster key) can issue certificates after a failover.
///
/// The text is `v1:` followed by standard base64 of the 12-byte nonce, the ciphertext and the
/// 16-byte tag. The version is authenticated too (it is the associated data), so a text cannot be
/// passed off as another version. The nonce comes from a generator the caller gives; with a
/// 96-bit random nonce, one key seals billions of secrets before a repeated nonce is likely.
public enum SealedSecret {
    /// The prefix of every sealed text of this version.
    public static let prefix = "v1:"
    /// The HKDF purpose (its `info`) of the key that seals the chassis authority's private key.
    public static let caKeyPurpose = "chassis-manager/ca-key/v1"
    /// The purpose of the key that seals the passwords of notification targets (an SMTP login).
    public static let notificationPurpose = "chassis-manager/notification-secrets/v1"

    private static let nonceCount = 12
    private static let tagCount = 16
    private static let associatedData = Array("chassis-manager/sealed-secret/v1".utf8)

    /// Derives a 256-bit key for one purpose from the cluster key, with HKDF-SHA256 (no salt,
    /// the purpose as `info`), so that the key sealing the authority's key is not the key that
    /// authenticates the blades' messages, and neither reveals the other.
    ///
    /// - Parameters:
    ///   - clusterKey: The chassis' shared cluster key, as its raw bytes.
    ///   - purpose: What the derived key is for, such as `SealedSecret.caKeyPurpose`.
    public static func derivedKey(clusterKey: [UInt8], purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: clusterKey),
                               info: Array(purpose.utf8),
                               outputByteCount: 32)
    }

    /// Seals a secret into text.
    ///
    /// - Parameters:
    ///   - plaintext: The secret's bytes.
    ///   - key: A 128-, 192- or 256-bit key, normally from `derivedKey(clusterKey:purpose:)`.
    ///   - generator: The source of the 12-byte nonce.
    /// - Returns: `v1:` and base64, without newlines.
    /// - Throws: `SealedSecretError` when the key has a size AES does not take.
    public static func seal<G: RandomNumberGenerator>(_ plaintext: [UInt8], key: SymmetricKey,
                                                      using generator: inout G) throws -> String {
        var nonceBytes: [UInt8] = []
        while nonceBytes.count < nonceCount {
            var word = generator.next()
            for _ in 0..<8 where nonceBytes.count < nonceCount {
                nonceBytes.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        do {
            let nonce = try AES.GCM.Nonce(data: nonceBytes)
            let box = try AES.GCM.seal(plaintext, using: key, nonce: nonce, authenticating: associatedData)
            let combined = nonceBytes + Array(box.ciphertext) + Array(box.tag)
            return prefix + Data(combined).base64EncodedString()
        } catch {
            throw SealedSecretError(.badKey, "the secret could not be sealed (a key of \(key.bitCount) bits?): \(error)")
        }
    }

    /// Opens a sealed text.
    ///
    /// - Returns: The secret's bytes.
    /// - Throws: `SealedSecretError` of kind `malformed` when the text is not of this
    ///   form, and of kind `rejected` when the key is wrong or the text was altered.
    public static func open(_ sealed: String, key: SymmetricKey) throws -> [UInt8] {
        let text = String(sealed.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        guard text.hasPrefix(prefix) else {
            let shown = text.prefix(8)
            throw SealedSecretError(.malformed, "a sealed secret begins with \"\(prefix)\", not \"\(shown)…\"")
        }
        guard let bytes = Data(base64Encoded: String(text.dropFirst(prefix.count))).map(Array.init) else {
            throw SealedSecretError(.malformed, "the sealed secret's text after \"\(prefix)\" is not base64")
        }
        guard bytes.count >= nonceCount + tagCount else {
            throw SealedSecretError(.malformed,
                                   "the sealed secret is \(bytes.count) bytes, shorter than a nonce and a tag (\(nonceCount + tagCount))")
        }
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: bytes[..<nonceCount]),
                                            ciphertext: bytes[nonceCount..<(bytes.count - tagCount)],
                                            tag: bytes[(bytes.count - tagCount)...])
            return Array(try AES.GCM.open(box, using: key, authenticating: associatedData))
        } catch {
            throw SealedSecretError(.rejected,
                                   "the sealed secret does not open with this key: a wrong key, or the text was altered")
        }
    }
}

/// A sealed secret that could not be made or opened.
public struct SealedSecretError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Equatable, Sendable {
        /// Not `v1:` followed by base64 of a nonce, a ciphertext and a tag.
        case malformed
        /// It does not open: a wrong key, or text altered after sealing.
        case rejected
        /// A key of a size AES does not take.
        case badKey
    }

    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
