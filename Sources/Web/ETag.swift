/// Entity tags derived from the store's data version: the same data, route and staleness give the
/// same tag, so a poller that already holds them gets `304 Not Modified` and no body.
public enum ETag {
    public static func make(dataVersion: String, route: String, stale: Bool) -> String {
        var hash = FNV1a64()
        hash.add(dataVersion)
        hash.add("\u{0}")
        hash.add(route)
        hash.add(stale ? "\u{0}stale" : "\u{0}fresh")
        return "\"" + hash.hex + "\""
    }

    /// Whether an `If-None-Match` field names this tag (or `*`); weak tags compare weakly.
    public static func matches(ifNoneMatch: String?, etag: String) -> Bool {
        guard let field = ifNoneMatch else { return false }
        for candidate in field.split(separator: ",") {
            var tag = candidate.trimmingSpaces()
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = String(tag.dropFirst(2)) }
            if tag == etag { return true }
        }
        return false
    }
}

struct FNV1a64 {
    private(set) var value: UInt64

    /// FNV-1a's offset basis, unless another seed is wanted (a second, independent hash).
    init(seed: UInt64 = 0xcbf2_9ce4_8422_2325) { value = seed }

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
    }

    /// The hash's 8 bytes, least significant first.
    var bytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
