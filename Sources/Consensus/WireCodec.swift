import Plumbing
/// Why bytes did not decode.
public enum DecodeError: Error, Equatable, Sendable {
    /// The input ended before the value did.
    case truncated
    /// The input is longer than `Limits.messageBytesMax`.
    case tooLarge(bytes: Int)
    /// The format version is not one this code reads.
    case unsupportedVersion(UInt8)
    /// An unknown message or entry kind.
    case unknownKind(UInt8)
    /// Undefined flag bits are set.
    case invalidFlags(UInt8)
    /// A number does not fit, or is negative where it may not be.
    case invalidNumber
    /// A count or length exceeds its limit.
    case limitExceeded(String)
    /// An address is not UTF-8.
    case invalidText
    /// Bytes remain after the value.
    case trailingBytes(Int)
}

/// The format version written first in every stored value (entries, snapshots, hard states).
public let wireFormatVersion: UInt8 = 1

/// The format version written first in every message. 2: snapshots travel in chunks (a member of
/// version 1 would take a chunk for a whole snapshot, so the two refuse each other's messages).
public let messageFormatVersion: UInt8 = 2

/// Appends values in the wire format: unsigned LEB128 varints for numbers, a length before
/// every byte string.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func varint(_ value: UInt64) { Varint.append(value, to: &bytes) }

    /// Writes a non-negative integer.
    mutating func count(_ value: Int) {
        precondition(value >= 0, "negative value on the wire")
        varint(UInt64(value))
    }

    mutating func blob(_ value: [UInt8]) {
        count(value.count)
        bytes.append(contentsOf: value)
    }
}

/// Reads values in the wire format, checking every length against what remains.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func byte() throws(DecodeError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint() throws(DecodeError) -> UInt64 {
        do {
            return try Varint.read(bytes, at: &offset)
        } catch .truncated {
            throw .truncated
        } catch {
            throw .invalidNumber
        }
    }

    /// Reads a non-negative integer no larger than `maximum`.
    mutating func count(maximum: Int = Int.max, _ what: String = "number") throws(DecodeError) -> Int {
        let value = try varint()
        guard value <= UInt64(Int.max) else { throw .invalidNumber }
        guard Int(value) <= maximum else { throw .limitExceeded(what) }
        return Int(value)
    }

    mutating func blob(maximum: Int, _ what: String) throws(DecodeError) -> [UInt8] {
        let length = try count(maximum: maximum, what)
        guard length <= remaining else { throw .truncated }
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }

    func finish() throws(DecodeError) {
        guard remaining == 0 else { throw .trailingBytes(remaining) }
    }
}

// MARK: - Versioned blobs

/// A value stored or sent on its own: the wire format version, then the value.
func encodeVersioned(capacity: Int = 64, _ write: (inout ByteWriter) -> Void) -> [UInt8] {
    var writer = ByteWriter(capacity: capacity)
    writer.byte(wireFormatVersion)
    write(&writer)
    return writer.bytes
}

/// Reads a value written by `encodeVersioned`, refusing another version or trailing bytes.
func decodeVersioned<T>(_ bytes: [UInt8], _ read: (inout ByteReader) throws(DecodeError) -> T) throws(DecodeError) -> T {
    var reader = ByteReader(bytes)
    let version = try reader.byte()
    guard version == wireFormatVersion else { throw .unsupportedVersion(version) }
    let value = try read(&reader)
    try reader.finish()
    return value
}

// MARK: - Membership

extension Membership {
    /// Encodes the membership (as carried in `.membership` entries and snapshots).
    public func encode() -> [UInt8] {
        encodeVersioned { write(to: &$0) }
    }

    /// Decodes a membership written by `encode()`.
    public static func decode(_ bytes: [UInt8], limits: Limits = Limits()) throws(DecodeError) -> Membership {
        try decodeVersioned(bytes) { (reader: inout ByteReader) throws(DecodeError) in try read(from: &reader, limits: limits) }
    }

    func write(to writer: inout ByteWriter) {
        writer.count(members.count)
        for member in members {
            writer.varint(UInt64(member.id.rawValue))
            writer.blob(Array(member.address.utf8))
            var flags: UInt8 = 0
            if member.isWitness { flags |= 1 }
            if member.priority != nil { flags |= 2 }
            writer.byte(flags)
            if let priority = member.priority {
                // Zig-zag so that negative priorities stay small.
                writer.varint(UInt64(bitPattern: Int64((priority << 1) ^ (priority >> 63))))
            }
        }
    }

    static func read(from reader: inout ByteReader, limits: Limits) throws(DecodeError) -> Membership {
        let count = try reader.count(maximum: limits.membersMax, "membersMax")
        var members: [Member] = []
        members.reserveCapacity(count)
        var seen = Set<MemberID>()
        for _ in 0..<count {
            let raw = try reader.varint()
            guard raw <= UInt64(UInt32.max) else { throw .invalidNumber }
            let id = MemberID(UInt32(raw))
            guard seen.insert(id).inserted else { throw .invalidNumber }
            let addressBytes = try reader.blob(maximum: limits.addressBytesMax, "addressBytesMax")
            guard let address = String(validating: addressBytes, as: UTF8.self) else { throw .invalidText }
            let flags = try reader.byte()
            guard flags & ~3 == 0 else { throw .invalidFlags(flags) }
            var priority: Int?
            if flags & 2 != 0 {
                let zigzag = try reader.varint()
                priority = Int(Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1))
            }
            members.append(Member(id: id, address: address, priority: priority, isWitness: flags & 1 != 0))
        }
        return Membership(members)
    }
}

// MARK: - Entries, snapshots, hard state

extension Entry {
    /// Encodes the entry as a blob for storage.
    public func encode() -> [UInt8] {
        encodeVersioned(capacity: data.count + 16) { write(to: &$0) }
    }

    /// Decodes an entry written by `encode()`.
    public static func decode(_ bytes: [UInt8], limits: Limits = Limits()) throws(DecodeError) -> Entry {
        try decodeVersioned(bytes) { (reader: inout ByteReader) throws(DecodeError) in try read(from: &reader, limits: limits) }
    }

    func write(to writer: inout ByteWriter) {
        writer.count(index)
        writer.count(term)
        writer.byte(kind.rawValue)
        writer.blob(data)
    }

    static func read(from reader: inout ByteReader, limits: Limits) throws(DecodeError) -> Entry {
        let index = try reader.count()
        let term = try reader.count()
        let rawKind = try reader.byte()
        guard let kind = EntryKind(rawValue: rawKind) else { throw .unknownKind(rawKind) }
        let dataMax = kind == .membership ? limits.membersMax * (limits.addressBytesMax + 32) + 16
                                          : limits.commandBytesMax
        let data = try reader.blob(maximum: dataMax, "commandBytesMax")
        return Entry(index: index, term: term, kind: kind, data: data)
    }
}

extension Snapshot {
    /// Encodes the snapshot as a blob for storage.
    public func encode() -> [UInt8] {
        encodeVersioned(capacity: data.count + 64) { write(to: &$0) }
    }

    /// Decodes a snapshot written by `encode()`.
    public static func decode(_ bytes: [UInt8], limits: Limits = Limits()) throws(DecodeError) -> Snapshot {
        try decodeVersioned(bytes) { (reader: inout ByteReader) throws(DecodeError) in try read(from: &reader, limits: limits) }
    }

    func write(to writer: inout ByteWriter) {
        writer.count(index)
        writer.count(term)
        membership.write(to: &writer)
        writer.blob(data)
    }

    /// Reads a snapshot; in a message it is one chunk, at most `snapshotChunkBytesMax` of data.
    static func read(from reader: inout ByteReader, limits: Limits, chunk: Bool = false) throws(DecodeError) -> Snapshot {
        let index = try reader.count()
        let term = try reader.count()
        let membership = try Membership.read(from: &reader, limits: limits)
        let data = chunk ? try reader.blob(maximum: limits.snapshotChunkBytesMax, "snapshotChunkBytesMax")
                         : try reader.blob(maximum: limits.snapshotBytesMax, "snapshotBytesMax")
        return Snapshot(index: index, term: term, membership: membership, data: data)
    }
}

extension HardState {
    /// Encodes the hard state as a blob for storage.
    public func encode() -> [UInt8] {
        var writer = ByteWriter()
        writer.byte(wireFormatVersion)
        writer.count(term)
        if let votedFor {
            writer.byte(1)
            writer.varint(UInt64(votedFor.rawValue))
        } else {
            writer.byte(0)
        }
        writer.count(commitIndex)
        return writer.bytes
    }

    /// Decodes a hard state written by `encode()`.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> HardState {
        var reader = ByteReader(bytes)
        let version = try reader.byte()
        guard version == wireFormatVersion else { throw .unsupportedVersion(version) }
        let term = try reader.count()
        let hasVote = try reader.byte()
        var votedFor: MemberID?
        switch hasVote {
        case 0: break
        case 1:
            let raw = try reader.varint()
            guard raw <= UInt64(UInt32.max) else { throw .invalidNumber }
            votedFor = MemberID(UInt32(raw))
        default: throw .invalidFlags(hasVote)
        }
        let commitIndex = try reader.count()
        try reader.finish()
        return HardState(term: term, votedFor: votedFor, commitIndex: commitIndex)
    }
}

// MARK: - Messages

extension Message {
    /// Encodes the message: version, kind, then every field as varints, the entries and an
    /// optional snapshot. The caller sends at most `Limits.messageBytesMax` bytes; the core never
    /// builds a larger message.
    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: 48 + entries.reduce(0) { $0 + $1.data.count + 12 }
                                        + (snapshot?.data.count ?? 0))
        writer.byte(messageFormatVersion)
        writer.byte(kind.rawValue)
        writer.varint(UInt64(from.rawValue))
        writer.varint(UInt64(to.rawValue))
        writer.count(term)
        writer.count(logIndex)
        writer.count(logTerm)
        writer.count(commit)
        writer.count(sendTick)
        writer.byte(flags.rawValue)
        writer.count(entries.count)
        for entry in entries { entry.write(to: &writer) }
        if let snapshot {
            writer.byte(1)
            snapshot.write(to: &writer)
        } else {
            writer.byte(0)
        }
        return writer.bytes
    }

    /// Decodes a message, rejecting anything malformed, oversized or with trailing bytes.
    public static func decode(_ bytes: [UInt8], limits: Limits = Limits()) throws(DecodeError) -> Message {
        guard bytes.count <= limits.messageBytesMax else { throw .tooLarge(bytes: bytes.count) }
        var reader = ByteReader(bytes)
        let version = try reader.byte()
        guard version == messageFormatVersion else { throw .unsupportedVersion(version) }
        let rawKind = try reader.byte()
        guard let kind = Kind(rawValue: rawKind) else { throw .unknownKind(rawKind) }
        let fromRaw = try reader.varint()
        let toRaw = try reader.varint()
        guard fromRaw <= UInt64(UInt32.max), toRaw <= UInt64(UInt32.max) else { throw .invalidNumber }
        let term = try reader.count()
        let logIndex = try reader.count()
        let logTerm = try reader.count()
        let commit = try reader.count()
        let sendTick = try reader.count()
        let rawFlags = try reader.byte()
        guard rawFlags & ~Flags.all.rawValue == 0 else { throw .invalidFlags(rawFlags) }
        let entryCount = try reader.count(maximum: limits.entriesPerAppendMax, "entriesPerAppendMax")
        // Every entry takes at least four bytes, so a count larger than that cannot be honest.
        guard entryCount * 4 <= reader.remaining else { throw .truncated }
        var entries: [Entry] = []
        entries.reserveCapacity(entryCount)
        for _ in 0..<entryCount { entries.append(try Entry.read(from: &reader, limits: limits)) }
        let hasSnapshot = try reader.byte()
        var snapshot: Snapshot?
        switch hasSnapshot {
        case 0: break
        case 1: snapshot = try Snapshot.read(from: &reader, limits: limits, chunk: true)
        default: throw .invalidFlags(hasSnapshot)
        }
        try reader.finish()
        return Message(kind: kind, from: MemberID(UInt32(fromRaw)), to: MemberID(UInt32(toRaw)),
                       term: term, logIndex: logIndex, logTerm: logTerm, commit: commit,
                       sendTick: sendTick, flags: Flags(rawValue: rawFlags), entries: entries,
                       snapshot: snapshot)
    }
}
