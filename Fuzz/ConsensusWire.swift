// libFuzzer entry for the consensus wire codec (Sources/Consensus/WireCodec.swift).
//
// Every input is read as each thing the codec decodes:
// - a Message, as `Node.step(encoded:)` reads it from a peer (after the transport's MAC check);
//   a decoded message is also stepped into a fresh follower and a fresh leader of three members,
//   so that what the decoder lets through reaches the core;
// - an Entry, a Snapshot, a HardState and a Membership, as the store reads them back and as a
//   `.membership` entry's data is read when applied.
// For each value that decodes: encode -> decode gives the same value, the encoding is a fixed
// point, and it is never longer than the input (the decoder accepts non-minimal varints, the
// encoder writes minimal ones).
import Consensus
import Plumbing
#if canImport(Glibc)
import Glibc
#endif

private let members = [
    Member(id: MemberID(1), address: "127.0.1.1"),
    Member(id: MemberID(2), address: "127.0.1.2"),
    Member(id: MemberID(3), address: "127.0.1.3", priority: -2, isWitness: true),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConsensusWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)

    if let message = try? Message.decode(bytes) {
        note("message: \(message)")
        roundTrip(message, input: bytes, "Message", encode: { $0.encode() }, decode: { try Message.decode($0) })
        for entry in message.entries where entry.kind == .membership {
            if let membership = try? Membership.decode(entry.data) {
                roundTrip(membership, input: entry.data, "Membership in an entry",
                          encode: { $0.encode() }, decode: { try Membership.decode($0) })
            }
        }
        if let snapshot = message.snapshot {
            let blob = snapshot.encode()
            check((try? Snapshot.decode(blob)) == snapshot, "the message's snapshot does not round-trip alone")
        }
        stepIntoCores(bytes, message)
    }
    if let entry = try? Entry.decode(bytes) {
        note("entry: \(entry)")
        roundTrip(entry, input: bytes, "Entry", encode: { $0.encode() }, decode: { try Entry.decode($0) })
    }
    if let snapshot = try? Snapshot.decode(bytes) {
        note("snapshot: \(snapshot)")
        roundTrip(snapshot, input: bytes, "Snapshot", encode: { $0.encode() }, decode: { try Snapshot.decode($0) })
    }
    if let hardState = try? HardState.decode(bytes) {
        note("hard state: \(hardState)")
        roundTrip(hardState, input: bytes, "HardState", encode: { $0.encode() }, decode: { try HardState.decode($0) })
    }
    if let membership = try? Membership.decode(bytes) {
        note("membership: \(membership)")
        roundTrip(membership, input: bytes, "Membership", encode: { $0.encode() }, decode: { try Membership.decode($0) })
    }
    return 0
}

private func roundTrip<T: Equatable>(_ value: T, input: [UInt8], _ what: String,
                                     encode: (T) -> [UInt8], decode: ([UInt8]) throws -> T) {
    let encoded = encode(value)
    check(encoded.count <= input.count,
          "\(what): the encoding (\(encoded.count) bytes) is longer than the input (\(input.count) bytes)")
    let again: T
    do {
        again = try decode(encoded)
    } catch {
        invariantFailed("\(what): the decoder refuses the encoder's output (\(error)): \(hex(encoded))")
    }
    check(again == value, "\(what): decode(encode(x)) != x\n  x:     \(value)\n  again: \(again)")
    check(encode(again) == encoded, "\(what): the encoding is not a fixed point")
}

/// The decoded message, as bytes from a peer, into a follower (that has heard from no leader)
/// and into a leader that has just won its election: neither may trap.
private func stepIntoCores(_ bytes: [UInt8], _ message: Message) {
    let follower = Node.bootstrap(id: MemberID(2), members: members, random: SplitMix64(seed: 2))
    _ = follower.ready()
    _ = follower.step(encoded: bytes)
    _ = follower.advance(ticks: 1)

    guard let leader = electedLeader() else { return }
    _ = leader.step(encoded: bytes)
    _ = leader.advance(ticks: 1)
}

/// Member 1 campaigns after its election timeout; member 2 grants its pre-vote and its vote.
private func electedLeader() -> Node? {
    let node = Node.bootstrap(id: MemberID(1), members: members, random: SplitMix64(seed: 1))
    _ = node.ready()
    var ready = node.advance(ticks: 200)
    for _ in 0..<8 where node.role != .leader {
        var answers: [Message] = []
        for request in ready.messages where request.to == MemberID(2) {
            switch request.kind {
            case .preVote:
                answers.append(Message(kind: .preVoteResponse, from: MemberID(2), to: MemberID(1), term: request.term,
                                       logTerm: request.term, flags: .granted))
            case .vote:
                answers.append(Message(kind: .voteResponse, from: MemberID(2), to: MemberID(1), term: request.term,
                                       flags: .granted))
            default: break
            }
        }
        if answers.isEmpty { ready = node.advance(ticks: 1) }
        for answer in answers { ready = node.step(answer) }
    }
    if node.role != .leader {
        // The harness's election no longer matches the core: say so once, and go on without a leader.
        if !warnedNoLeader {
            warnedNoLeader = true
            fputs("ConsensusWire: the scripted election did not make member 1 leader; leader steps skipped\n", stderr)
        }
        return nil
    }
    return node
}

nonisolated(unsafe) private var warnedNoLeader = false
