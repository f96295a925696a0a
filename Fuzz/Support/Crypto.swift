// A stand-in for swift-crypto's `Crypto` module, for the fuzz targets that need it (transport,
// http): the API that Sources/Transport/PeerFrame.swift, Sources/ChassisKeys/KeyDerivation.swift
// and Sources/Access (sessions, tickets, tokens) use: HMAC<SHA256> and its constant-time checks,
// SHA256.hash, HKDF<SHA256>, SymmetricKey. Implemented in plain Swift so that those files compile
// with swiftc alone (the real module needs BoringSSL built from its C sources). Real HMAC-SHA256
// (FIPS 180-4, RFC 2104) and HKDF (RFC 5869): the transport entry checks HMAC against RFC 4231's
// test vectors, the http entry HKDF against RFC 5869's, before the first input.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public protocol HashFunction {
    static var blockByteCount: Int { get }
    static func digest(_ bytes: [UInt8]) -> [UInt8]
}

public struct SHA256: HashFunction {
    public static let blockByteCount = 64

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var message = bytes
        message.append(0x80)
        while message.count % 64 != 56 { message.append(0) }
        let bitCount = UInt64(bytes.count) &* 8
        for shift in stride(from: 56, through: 0, by: -8) { message.append(UInt8(truncatingIfNeeded: bitCount >> UInt64(shift))) }
        var w = [UInt32](repeating: 0, count: 64)
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
        for block in stride(from: 0, to: message.count, by: 64) {
            for t in 0..<16 {
                let i = block + 4 * t
                w[t] = UInt32(message[i]) << 24 | UInt32(message[i + 1]) << 16 | UInt32(message[i + 2]) << 8 | UInt32(message[i + 3])
            }
            for t in 16..<64 {
                let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for t in 0..<64 {
                let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                let choice = (e & f) ^ (~e & g)
                let t1 = hh &+ s1 &+ choice &+ k[t] &+ w[t]
                let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                let majority = (a & b) ^ (a & c) ^ (b & c)
                let t2 = s0 &+ majority
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
        }
        return h.flatMap { word in [UInt8(word >> 24), UInt8(word >> 16 & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word & 0xFF)] }
    }
}

public struct SymmetricKey: Sendable {
    let bytes: [UInt8]
    public init<D: Sequence>(data: D) where D.Element == UInt8 { bytes = Array(data) }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }
}

/// SHA-256's digest, a sequence of its 32 bytes (as swift-crypto's `SHA256.Digest`).
public struct SHA256Digest: Hashable, Sendable, Sequence {
    let bytes: [UInt8]
    public func makeIterator() -> IndexingIterator<[UInt8]> { bytes.makeIterator() }
}

extension SHA256 {
    public static func hash<D: DataProtocol>(data: D) -> SHA256Digest { SHA256Digest(bytes: digest(Array(data))) }
}

public struct HashedAuthenticationCode<H: HashFunction>: Hashable, Sendable, Sequence, CustomStringConvertible {
    let bytes: [UInt8]
    public func makeIterator() -> IndexingIterator<[UInt8]> { bytes.makeIterator() }
    public var description: String { "HMAC(\(bytes.map { String($0, radix: 16) }.joined()))" }

    /// Constant-time comparison with bytes, as swift-crypto's.
    public static func == <D: DataProtocol>(lhs: Self, rhs: D) -> Bool {
        guard rhs.count == lhs.bytes.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(lhs.bytes, rhs) { difference |= a ^ b }
        return difference == 0
    }
}

public struct HMAC<H: HashFunction>: Sendable {
    public typealias MAC = HashedAuthenticationCode<H>
    private let innerPad: [UInt8]
    private let outerPad: [UInt8]
    private var message: [UInt8] = []

    public init(key: SymmetricKey) {
        var key = key.bytes
        if key.count > H.blockByteCount { key = H.digest(key) }
        key += [UInt8](repeating: 0, count: H.blockByteCount - key.count)
        innerPad = key.map { $0 ^ 0x36 }
        outerPad = key.map { $0 ^ 0x5c }
    }

    public mutating func update<D: DataProtocol>(data: D) { message.append(contentsOf: data) }

    public func finalize() -> MAC {
        MAC(bytes: H.digest(outerPad + H.digest(innerPad + message)))
    }

    public static func authenticationCode<D: DataProtocol>(for data: D, using key: SymmetricKey) -> MAC {
        var hmac = HMAC(key: key)
        hmac.update(data: data)
        return hmac.finalize()
    }

    /// Whether `code` is the MAC of `data`, compared in constant time.
    public static func isValidAuthenticationCode<C: DataProtocol, D: DataProtocol>(
        _ code: C, authenticating data: D, using key: SymmetricKey) -> Bool {
        authenticationCode(for: data, using: key) == code
    }
}

/// HKDF (RFC 5869): extract with the salt, expand with the info.
public struct HKDF<H: HashFunction>: Sendable {
    public static func deriveKey<Salt: DataProtocol, Info: DataProtocol>(
        inputKeyMaterial: SymmetricKey, salt: Salt, info: Info, outputByteCount: Int) -> SymmetricKey {
        let pseudoRandomKey = SymmetricKey(data: HMAC<H>.authenticationCode(for: inputKeyMaterial.bytes, using: SymmetricKey(data: salt)))
        var output: [UInt8] = []
        var block: [UInt8] = []
        var counter: UInt8 = 1
        while output.count < outputByteCount {
            block = Array(HMAC<H>.authenticationCode(for: block + Array(info) + [counter], using: pseudoRandomKey))
            output += block
            counter &+= 1
        }
        return SymmetricKey(data: output.prefix(outputByteCount))
    }
}
