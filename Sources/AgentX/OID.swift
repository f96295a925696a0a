/// An SNMP object identifier: a sequence of sub-identifiers, ordered lexicographically (the order
/// GetNext walks). RFC 2741 allows at most 128 sub-identifiers.
public struct OID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var components: [UInt32]

    /// RFC 2741, 5.1: an OID holds at most 128 sub-identifiers.
    public static let componentsMax = 128

    public init(_ components: [UInt32]) {
        self.components = components
    }

    /// Parses dotted text (`1.3.6.1.2.1.47`, a leading dot allowed); nil for anything else.
    public init?(_ text: String) {
        var body = Substring(text)
        if body.hasPrefix(".") { body = body.dropFirst() }
        if body.isEmpty { return nil }
        var parsed: [UInt32] = []
        for part in body.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.utf8.count <= 10, part.utf8.allSatisfy({ (48...57).contains($0) }),
                  let value = UInt32(part) else { return nil }
            parsed.append(value)
        }
        guard parsed.count <= Self.componentsMax else { return nil }
        components = parsed
    }

    /// The null OID (no sub-identifiers): the end of an unbounded search range.
    public static let null = OID([])
    public var isNull: Bool { components.isEmpty }

    public var description: String { components.map(String.init).joined(separator: ".") }

    public static func + (oid: OID, suffix: [UInt32]) -> OID { OID(oid.components + suffix) }

    public func hasPrefix(_ prefix: OID) -> Bool {
        components.count >= prefix.components.count && Array(components.prefix(prefix.components.count)) == prefix.components
    }

    public static func < (a: OID, b: OID) -> Bool {
        for (x, y) in zip(a.components, b.components) where x != y { return x < y }
        return a.components.count < b.components.count
    }
}
