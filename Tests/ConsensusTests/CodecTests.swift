import Plumbing
import Consensus
import Testing

/// The wire codec: round trips, strict rejection, and a little fuzzing.
struct CodecTests {
    static let members = Membership([
        Member(id: MemberID(1), address: "127.0.1.1"),
        Member(id: MemberID(2), address: "127.0.1.2", priority: -3),
        Member(id: MemberID(100), address: "witness.example", priority: 7, isWitness: true),
    ])

    static let samples: [Message] = {
        let entries = [
            Entry(index: 5, term: 2, kind: .command, data: [1, 2, 3]),
            Entry(index: 6, term: 3, kind: .noop),
            Entry(index: 7, term: 3, kind: .membership, data: members.encode()),
        ]
        let snapshot = Snapshot(index: 40, term: 3, membership: members, data: Array(repeating: 9, count: 300))
        return Message.Kind.allCases.map { kind in
            Message(kind: kind, from: MemberID(1), to: MemberID(2), term: 3, logIndex: 4, logTerm: 2,
                    commit: 3, sendTick: 123_456_789, flags: [.granted, .counted],
                    entries: kind == .append ? entries : [],
                    snapshot: kind == .installSnapshot ? snapshot : nil)
        }
    }()

    @Test("every message kind round-trips", arguments: CodecTests.samples)
    func roundTrip(_ message: Message) throws {
        let bytes = message.encode()
        #expect(bytes.first == messageFormatVersion)
        #expect(try Message.decode(bytes) == message)
    }

    @Test("every truncation is rejected with a typed error", arguments: CodecTests.samples)
    func truncations(_ message: Message) {
        let bytes = message.encode()
        for length in 0..<bytes.count {
            #expect(throws: DecodeError.self) { try Message.decode(Array(bytes[0..<length])) }
        }
    }

    @Test("trailing bytes, unknown versions, kinds and flags are rejected")
    func strictness() {
        var bytes = Self.samples[0].encode()
        #expect(throws: DecodeError.trailingBytes(1)) { try Message.decode(bytes + [0]) }
        bytes[0] = 9
        #expect(throws: DecodeError.unsupportedVersion(9)) { try Message.decode(bytes) }
        bytes = Self.samples[0].encode()
        bytes[1] = 99
        #expect(throws: DecodeError.unknownKind(99)) { try Message.decode(bytes) }
        let flagged = Message(kind: .vote, from: MemberID(1), to: MemberID(2), term: 1)
        var encoded = flagged.encode()
        // Layout: version, kind, from, to, term, index, logTerm, commit, sendTick, flags.
        encoded[9] = 0x80
        #expect(throws: DecodeError.invalidFlags(0x80)) { try Message.decode(encoded) }
    }

    @Test("oversized messages and counts are rejected before allocating")
    func limits() {
        var limits = Limits()
        limits.messageBytesMax = 64
        let big = Message(kind: .append, from: MemberID(1), to: MemberID(2), term: 1,
                          entries: [Entry(index: 1, term: 1, data: Array(repeating: 0, count: 100))])
        #expect(throws: DecodeError.tooLarge(bytes: big.encode().count)) { try Message.decode(big.encode(), limits: limits) }
        // A header claiming a billion entries.
        var writer: [UInt8] = [messageFormatVersion, Message.Kind.append.rawValue, 1, 2, 1, 0, 0, 0, 0, 0]
        writer += [0x80, 0x94, 0xeb, 0xdc, 0x03]
        #expect(throws: DecodeError.self) { try Message.decode(writer) }
        // A varint longer than 64 bits.
        let overflow: [UInt8] = [messageFormatVersion, 1] + Array(repeating: 0xff, count: 11)
        #expect(throws: DecodeError.self) { try Message.decode(overflow) }
    }

    @Test("random bytes and random corruptions never crash the decoder")
    func fuzz() {
        var random = SplitMix64(seed: 77)
        var decoded = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                bytes = Self.samples[Int(random.next() % UInt64(Self.samples.count))].encode()
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    let position = Int(random.next() % UInt64(bytes.count))
                    bytes[position] = UInt8(truncatingIfNeeded: random.next())
                }
            }
            if (try? Message.decode(bytes)) != nil { decoded += 1 }
        }
        // Corruptions of valid messages sometimes still decode; that is fine, the core validates.
        #expect(decoded < 20_000)
    }

    @Test("hard state, entries, snapshots and memberships round-trip as storage blobs")
    func storageBlobs() throws {
        let hard = HardState(term: 9, votedFor: MemberID(3), commitIndex: 77)
        #expect(try HardState.decode(hard.encode()) == hard)
        #expect(try HardState.decode(HardState().encode()) == HardState())
        let entry = Entry(index: 12, term: 4, kind: .command, data: Array("set threshold".utf8))
        #expect(try Entry.decode(entry.encode()) == entry)
        let snapshot = Snapshot(index: 12, term: 4, membership: Self.members, data: [1, 2, 3])
        #expect(try Snapshot.decode(snapshot.encode()) == snapshot)
        #expect(try Membership.decode(Self.members.encode()) == Self.members)
        #expect(throws: DecodeError.self) { try HardState.decode(Array(hard.encode().dropLast())) }
        #expect(throws: DecodeError.self) { try Entry.decode(entry.encode() + [1]) }
    }
}
