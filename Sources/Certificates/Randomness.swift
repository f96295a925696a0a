import Crypto

/// Random bytes and keys drawn from a generator the caller gives, so that the authority holds no
/// global randomness: production passes `SystemRandomNumberGenerator`, tests a seeded one.
enum Randomness {
    /// Returns `count` bytes from the generator.
    static func bytes<G: RandomNumberGenerator>(_ count: Int, using generator: inout G) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count + 8)
        while result.count < count {
            var word = generator.next()
            for _ in 0..<8 where result.count < count {
                result.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return result
    }

    /// Returns a new ECDSA P-256 private key whose scalar comes from the generator.
    ///
    /// A 32-byte draw that is not a valid scalar (zero, or not below the curve's order: a chance
    /// of about 2^-32) is thrown away and drawn again.
    static func p256Key<G: RandomNumberGenerator>(using generator: inout G) throws -> P256.Signing.PrivateKey {
        for _ in 0..<16 {
            let scalar = bytes(32, using: &generator)
            if let key = try? P256.Signing.PrivateKey(rawRepresentation: scalar) { return key }
        }
        throw CertificateError(.randomnessExhausted,
                               "the random number generator gave no valid P-256 private key in 16 draws")
    }

    /// Returns a certificate serial number of 16 bytes from the generator: positive, with no
    /// leading zero byte (so always 16 bytes long), 126 bits of it random, well within the
    /// 20 bytes RFC 5280 allows.
    static func serialNumber<G: RandomNumberGenerator>(using generator: inout G) -> [UInt8] {
        var serial = bytes(16, using: &generator)
        serial[0] = (serial[0] & 0x7F) | 0x40
        return serial
    }
}
