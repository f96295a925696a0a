import Plumbing
import Consensus
import Testing

/// Snapshots travel in chunks of at most `snapshotChunkBytesMax`: assembled in order by the
/// follower, resent from where it is when a chunk or its answer is lost.
struct SnapshotChunkTests {
    static func config(chunk: Int) -> Config {
        var config = Config()
        config.limits.snapshotChunkBytesMax = chunk
        return config
    }

    /// Application state of `count` bytes whose every byte depends on its position.
    static func state(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 256) }
    }

    /// A leader that compacted `bytes` of state while m3 was away; m3 is back, nothing delivered yet.
    static func leaderCompactedWhileM3Away(net: Net, bytes: Int) throws -> (leader: Node, state: [UInt8]) {
        net.tick(60)
        let leader = try #require(net.leader())
        net.down = [m3]
        for value in 0..<20 { net.absorb(leader.id, try leader.propose([UInt8(value)])) }
        net.deliverAll()
        net.tick(10)
        let state = Self.state(bytes)
        net.absorb(leader.id, try leader.compact(upTo: leader.appliedIndex, data: state))
        #expect(leader.snapshot.data == state)
        net.down = []
        return (leader, state)
    }

    /// Every snapshot m3 was told to restore from the leader.
    static func installed(_ net: Net, _ id: MemberID) -> [Snapshot] {
        (net.readies[id] ?? []).filter(\.snapshotIsFromLeader).compactMap(\.snapshot)
    }

    @Test("a snapshot of 10 chunks reaches a member that was away: no message larger than a chunk, every byte in place")
    func wholeInChunks() throws {
        let config = Self.config(chunk: 1_000)
        let net = Net(blades(3), config: config)
        let (leader, state) = try Self.leaderCompactedWhileM3Away(net: net, bytes: 9_500)
        net.tick(30)
        let follower = try #require(net.nodes[m3])
        #expect(follower.commitIndex == leader.commitIndex)
        let whole = Self.installed(net, m3).map(\.data) == [state]
        #expect(whole, "the snapshot arrived whole, once")
        let chunks = (net.readies[leader.id] ?? []).flatMap(\.messages).filter { $0.kind == .installSnapshot && $0.to == m3 }
        #expect(chunks.count == 10)
        #expect(chunks.map(\.logIndex) == Array(stride(from: 0, to: 9_500, by: 1_000)))
        for chunk in chunks {
            #expect((chunk.snapshot?.data.count ?? 0) <= 1_000)
            #expect(chunk.logTerm == 9_500)
            #expect(chunk.encode().count <= config.limits.messageBytesMax)
        }
        // Still replicating after it: a new entry reaches m3.
        net.absorb(leader.id, try leader.propose([99]))
        net.deliverAll()
        net.tick(5)
        #expect(follower.commitIndex == leader.commitIndex)
    }

    @Test("a lost chunk and a lost answer are sent again from where the follower is, and nothing is applied twice")
    func lossResumes() throws {
        let net = Net(blades(3), config: Self.config(chunk: 1_000))
        let (leader, state) = try Self.leaderCompactedWhileM3Away(net: net, bytes: 4_200)
        // Deliver by hand: drop the third chunk once and the answer to the fourth once.
        var droppedChunk = false
        var droppedAnswer = false
        for _ in 0..<60 {
            for id in net.nodes.keys.sorted() { net.absorb(id, net.nodes[id]!.tick()) }
            while !net.queue.isEmpty {
                let message = net.queue.removeFirst()
                if !droppedChunk, message.kind == .installSnapshot, message.logIndex == 2_000 {
                    droppedChunk = true
                    continue
                }
                if !droppedAnswer, message.kind == .snapshotResponse, message.commit == 4_000 {
                    droppedAnswer = true
                    continue
                }
                guard let node = net.nodes[message.to] else { continue }
                net.absorb(message.to, node.step(message))
            }
        }
        #expect(droppedChunk && droppedAnswer)
        let whole = Self.installed(net, m3).map(\.data) == [state]
        #expect(whole, "the snapshot arrived whole, once")
        #expect(net.nodes[m3]?.commitIndex == leader.commitIndex)
        // The chunk whose answer was lost came again and was refused as already held.
        let answers = (net.readies[m3] ?? []).flatMap(\.messages).filter { $0.kind == .snapshotResponse }
        #expect(answers.contains { !$0.granted && $0.commit == 4_000 })
    }

    @Test("the leader compacts again during a transfer: the follower starts over on the new snapshot")
    func newSnapshotStartsOver() throws {
        let net = Net(blades(3), config: Self.config(chunk: 1_000))
        let (leader, _) = try Self.leaderCompactedWhileM3Away(net: net, bytes: 5_000)
        // Two chunks reach m3, then it is away again.
        var chunksDelivered = 0
        for _ in 0..<20 where chunksDelivered < 2 {
            for id in net.nodes.keys.sorted() { net.absorb(id, net.nodes[id]!.tick()) }
            while !net.queue.isEmpty {
                let message = net.queue.removeFirst()
                if message.kind == .installSnapshot {
                    if chunksDelivered == 2 { continue }
                    chunksDelivered += 1
                }
                net.absorb(message.to, net.nodes[message.to]!.step(message))
            }
        }
        #expect(chunksDelivered == 2)
        #expect(Self.installed(net, m3).isEmpty)
        net.down = [m3]
        for value in 0..<5 { net.absorb(leader.id, try leader.propose([UInt8(value)])) }
        net.deliverAll()
        net.tick(5)
        let newer = Array(Self.state(2_500).reversed())
        net.absorb(leader.id, try leader.compact(upTo: leader.appliedIndex, data: newer))
        net.down = []
        net.tick(40)
        let installed = Self.installed(net, m3)
        #expect(installed.count == 1)
        let whole = installed.first?.data == newer
        #expect(whole, "the new snapshot arrived whole (\(installed.first?.data.count ?? 0) bytes)")
        #expect(installed.first?.index == leader.snapshot.index)
        #expect(net.nodes[m3]?.commitIndex == leader.commitIndex)
    }

    /// A follower of a three-blade chassis in term 1 whose leader is m1.
    static func follower() -> Node {
        Node(id: m2, config: config(chunk: 10),
             persisted: PersistentState(hardState: HardState(term: 1),
                                        snapshot: Snapshot(index: 0, term: 0, membership: Membership(blades(3)), data: []),
                                        entries: []),
             random: SplitMix64(seed: 3))
    }

    static func chunk(_ data: [UInt8], at offset: Int, of total: Int, index: LogIndex = 50, term: Term = 1) -> Message {
        Message(kind: .installSnapshot, from: m1, to: m2, term: term, logIndex: offset, logTerm: total,
                sendTick: 7, snapshot: Snapshot(index: index, term: 1, membership: Membership(blades(3)), data: data))
    }

    @Test("chunks are taken in order only: a gap or another snapshot's chunk is refused with the offset expected")
    func followerOrder() throws {
        let node = Self.follower()
        func answer(_ message: Message) throws -> Message {
            let ready = node.step(message)
            return try #require(ready.messages.first)
        }
        var reply = try answer(Self.chunk(Array(0..<10), at: 0, of: 25))
        #expect(reply.kind == .snapshotResponse && reply.granted && reply.commit == 10 && reply.logIndex == 50)
        #expect(reply.sendTick == 7)
        reply = try answer(Self.chunk(Array(20..<25), at: 20, of: 25))
        #expect(reply.kind == .snapshotResponse && !reply.granted && reply.commit == 10)
        reply = try answer(Self.chunk(Array(10..<20), at: 10, of: 26))
        #expect(!reply.granted && reply.commit == 0) // Another length: another snapshot.
        reply = try answer(Self.chunk(Array(10..<20), at: 10, of: 25, index: 51))
        #expect(!reply.granted && reply.commit == 0)
        reply = try answer(Self.chunk(Array(0..<10), at: 0, of: 25))
        reply = try answer(Self.chunk(Array(10..<20), at: 10, of: 25))
        #expect(reply.granted && reply.commit == 20)
        let last = node.step(Self.chunk(Array(20..<25), at: 20, of: 25))
        let done = try #require(last.messages.first)
        #expect(done.kind == .appendResponse && done.granted && done.logIndex == 50)
        #expect(last.snapshotIsFromLeader)
        #expect(last.snapshot?.data == Array(0..<25))
        #expect(node.commitIndex == 50)
        // A chunk of a snapshot it already covers is answered as an append would be.
        let late = try answer(Self.chunk(Array(10..<20), at: 10, of: 25))
        #expect(late.kind == .appendResponse && late.granted && late.logIndex == 50)
    }

    @Test("impossible chunks are refused before anything is buffered", arguments: [
        (Array(repeating: UInt8(1), count: 11), 0, 20),  // larger than a chunk
        (Array(repeating: UInt8(1), count: 5), 18, 20),  // past the stated length
        ([], 0, 20),                                     // moves nothing
        (Array(repeating: UInt8(1), count: 5), 0, 64 << 20), // longer than snapshotBytesMax
    ] as [([UInt8], Int, Int)])
    func impossible(_ data: [UInt8], _ offset: Int, _ total: Int) {
        let node = Self.follower()
        let before = node.stats.rejectedImpossible
        let ready = node.step(Self.chunk(data, at: offset, of: total))
        #expect(ready.messages.isEmpty)
        #expect(node.stats.rejectedImpossible == before + 1)
    }

    @Test("a message's snapshot larger than a chunk does not decode; a stored snapshot of 32 MiB does")
    func codecBounds() throws {
        let limits = Limits()
        let over = Self.chunk(Array(repeating: 0, count: limits.snapshotChunkBytesMax + 1), at: 0, of: 1 << 20)
        #expect(throws: DecodeError.self) { try Message.decode(over.encode()) }
        let stored = Snapshot(index: 9, term: 2, membership: Membership(blades(3)), data: Array(repeating: 5, count: 32 << 20))
        #expect(try Snapshot.decode(stored.encode()) == stored)
        #expect(limits.problems().isEmpty)
        var unsound = Limits()
        unsound.snapshotChunkBytesMax = unsound.messageBytesMax
        #expect(!unsound.problems().isEmpty)
    }
}
