import Plumbing
import Crypto
import Foundation
import Model
@testable import Access

/// A seeded generator, so that salts, keys, serial numbers and tokens repeat from run to run: the
/// shared SplitMix64 (Plumbing).
typealias SeededGenerator = SplitMix64

enum AccessFixture {
    static let key = SymmetricKey(data: [UInt8](repeating: 0x42, count: 32))
    static let otherKey = SymmetricKey(data: [UInt8](repeating: 0x43, count: 32))
    static let now: Double = 1_764_000_000
    static let chassisID = "660007770088"

    static func user(_ name: String, _ role: Role, scope: AccessScope? = nil, generation: Int64 = 1) -> UserRecord {
        UserRecord(name: name, role: role, scope: scope, passwordHash: "$scrypt$unused", generation: generation,
                   createdAt: now - 86_400, updatedAt: now - 86_400)
    }

    /// Every single-bit change of `text`'s bytes (the result may not be UTF-8: it is decoded with
    /// replacement characters, as a server would read a hostile cookie).
    static func bitFlips(_ text: String) -> [(index: Int, bit: Int, text: String)] {
        let bytes = Array(text.utf8)
        var out: [(Int, Int, String)] = []
        for index in bytes.indices {
            for bit in 0..<8 {
                var copy = bytes
                copy[index] ^= UInt8(1) << UInt8(bit)
                out.append((index, bit, String(decoding: copy, as: UTF8.self)))
            }
        }
        return out
    }
}
