import Plumbing
import Consensus
import Testing

/// Hostile but well-formed input: random messages of every kind, with random terms, indexes,
/// flags and entries, stepped into followers and leaders. None may crash the core; every
/// decision the core makes must stay within its invariants (it would trap otherwise).
struct FuzzTests {
    static func randomMessage(_ random: inout SplitMix64, to: MemberID, near node: Node) -> Message {
        func pick(_ range: ClosedRange<Int>) -> Int {
            range.lowerBound + Int(random.next() % UInt64(range.upperBound - range.lowerBound + 1))
        }
        let kind = Message.Kind.allCases[pick(0...Message.Kind.allCases.count - 1)]
        let from = MemberID(UInt32(pick(1...4)))
        let term = max(0, node.term + pick(-2...2))
        let index = max(0, node.lastIndex + pick(-5...5))
        var entries: [Entry] = []
        if kind == .append {
            var entryTerm = max(1, min(term, pick(0...term)))
            for offset in 0..<pick(0...4) {
                entryTerm = min(term, entryTerm + pick(0...1))
                let entryKind: EntryKind = pick(0...5) == 0 ? .noop : .command
                entries.append(Entry(index: index + 1 + offset, term: max(1, entryTerm), kind: entryKind,
                                     data: entryKind == .noop ? [] : [UInt8(pick(0...255))]))
            }
        }
        let snapshot = kind == .installSnapshot
            ? Snapshot(index: max(0, node.commitIndex + pick(-3...6)), term: max(0, min(term, pick(0...term))),
                       membership: Membership((1...3).map { Member(id: MemberID(UInt32($0)), address: "127.0.1.\($0)") }),
                       data: [1])
            : nil
        return Message(kind: kind, from: from, to: to, term: term, logIndex: index,
                       logTerm: max(0, min(term, pick(0...term))), commit: max(0, node.commitIndex + pick(-3...3)),
                       sendTick: max(0, node.now + pick(-10...2)),
                       flags: Message.Flags(rawValue: UInt8(pick(0...7))), entries: entries, snapshot: snapshot)
    }

    @Test("random messages never crash followers or leaders", arguments: [1, 2, 3, 4] as [UInt64])
    func randomMessages(_ seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let net = Net(blades(3))
        net.tick(60)
        for round in 0..<5_000 {
            let targetID = MemberID(UInt32(1 + round % 3))
            let node = net.nodes[targetID]!
            let message = Self.randomMessage(&random, to: targetID, near: node)
            _ = node.step(message)
            if round % 7 == 0 { _ = node.tick() }
            if round % 50 == 0 { _ = node.step(encoded: message.encode().shuffled(using: &random)) }
            if round % 500 == 0 { net.tick(60) } // Let the cluster recover a leader now and then.
        }
        let totals = net.nodes.values.reduce(0) { $0 + $1.stats.rejectedStaleTerm + $1.stats.rejectedImpossible }
        #expect(totals > 0)
    }
}
