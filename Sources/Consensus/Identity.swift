/// A member's identity: a small number that stays with the member for its whole life
/// (the engine derives it from the slot number, say). It never orders preference; the address does.
public struct MemberID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The number itself, as carried on the wire.
    public let rawValue: UInt32

    /// Wraps a number as a member identity.
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public static func < (lhs: MemberID, rhs: MemberID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "m\(rawValue)" }
}

/// One member of the chassis configuration: a blade, or a witness that votes and keeps the log
/// but never becomes the active manager.
public struct Member: Hashable, Sendable, CustomStringConvertible {
    /// The member's identity.
    public var id: MemberID
    /// The member's address; among eligible members the lowest address is preferred
    /// (IPv4 addresses compare numerically, so "127.0.1.2" comes before "127.0.1.10").
    public var address: String
    /// An optional priority; a higher priority is preferred over any address. Members without one
    /// count as priority 0.
    public var priority: Int?
    /// A witness votes and keeps the log, runs no metrics and no web, and never campaigns.
    public var isWitness: Bool

    /// Describes a member.
    public init(id: MemberID, address: String, priority: Int? = nil, isWitness: Bool = false) {
        self.id = id
        self.address = address
        self.priority = priority
        self.isWitness = isWitness
    }

    public var description: String {
        var text = "\(id)@\(address)"
        if let priority { text += " priority=\(priority)" }
        if isWitness { text += " witness" }
        return text
    }
}

/// The preference order between addresses: IPv4 dotted quads numerically and before anything
/// else; other addresses (IPv6, host names) by their UTF-8 bytes.
public enum AddressOrder {
    /// Parses a dotted-quad IPv4 address into its 32-bit value, or nil.
    public static func ipv4Value(_ address: String) -> UInt32? {
        var value: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var parts = 0
        for byte in address.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | part
                parts += 1
                part = 0
                digits = 0
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                guard digits < 3 else { return nil }
                part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
                guard part <= 255 else { return nil }
                digits += 1
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return value << 8 | part
    }

    /// True when `lhs` is preferred to `rhs` by address alone.
    public static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        switch (ipv4Value(lhs), ipv4Value(rhs)) {
        case let (left?, right?): return left < right
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return Array(lhs.utf8).lexicographicallyPrecedes(Array(rhs.utf8))
        }
    }

    /// True when `lhs` is preferred to `rhs`: higher priority first, then lower address, then
    /// lower identity (so the order is total).
    public static func prefers(_ lhs: Member, _ rhs: Member) -> Bool {
        let left = lhs.priority ?? 0
        let right = rhs.priority ?? 0
        if left != right { return left > right }
        if lhs.address != rhs.address { return precedes(lhs.address, rhs.address) }
        return lhs.id < rhs.id
    }
}

/// The set of members, every one of them a voter. Changed one member at a time by log entries.
public struct Membership: Equatable, Sendable, CustomStringConvertible {
    /// The members, sorted by identity.
    public private(set) var members: [Member]
    /// Identities of the non-witness members in preference order (most preferred first).
    public private(set) var preferenceOrder: [MemberID]

    /// Builds a membership; duplicate identities keep the last description given.
    public init(_ members: [Member]) {
        var byID: [MemberID: Member] = [:]
        for member in members { byID[member.id] = member }
        self.members = byID.values.sorted { $0.id < $1.id }
        self.preferenceOrder = self.members.filter { !$0.isWitness }
            .sorted(by: AddressOrder.prefers).map(\.id)
    }

    /// An empty membership, as held by a blade that has not yet joined.
    public static let empty = Membership([])

    /// The number of voters.
    public var voterCount: Int { members.count }
    /// The number of votes (or acknowledgements) that make a majority.
    public var quorum: Int { Quorum.majority(of: members.count) }
    /// The identities of every voter.
    public var voterIDs: [MemberID] { members.map(\.id) }

    /// True when `id` is a member.
    public func contains(_ id: MemberID) -> Bool { member(id) != nil }

    /// The member with identity `id`, or nil.
    public func member(_ id: MemberID) -> Member? {
        // Memberships are at most `Limits.membersMax` long, so a linear scan is cheapest.
        for member in members where member.id == id { return member }
        return nil
    }

    /// The position of `id` in the preference order (0 is most preferred), or nil for witnesses
    /// and non-members.
    public func preferenceRank(of id: MemberID) -> Int? { preferenceOrder.firstIndex(of: id) }

    /// True when the membership is exactly two voters, neither a witness: the case in which a
    /// fence confirmation may stand in for the missing peer's vote.
    public var isTwoBladesWithoutWitness: Bool {
        members.count == 2 && !members.contains { $0.isWitness }
    }

    public var description: String { "[" + members.map(\.description).joined(separator: ", ") + "]" }
}
