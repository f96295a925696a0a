import Consensus
import Testing

/// Pure sub-problems, from tables.
struct TableTests {
    @Test("majority sizes", arguments: [(0, 1), (1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (16, 9)])
    func majority(_ count: Int, _ expected: Int) {
        #expect(Quorum.majority(of: count) == expected)
    }

    @Test("majority values", arguments: [
        ([5, 3, 9], 3, 5),
        ([5, 3], 3, 3),
        ([7], 3, nil),
        ([1, 2, 3, 4], 4, 2),
        ([Int.max, 4], 2, 4),
    ] as [([Int], Int, Int?)])
    func majorityValue(_ values: [Int], _ voters: Int, _ expected: Int?) {
        #expect(Quorum.majorityValue(values, voterCount: voters) == expected)
    }

    @Test("vote tallies", arguments: [
        (2, 0, 3, Quorum.VoteOutcome.won),
        (1, 1, 3, .pending),
        (1, 2, 3, .lost),
        (1, 0, 2, .pending),
        (1, 1, 2, .lost),
        (1, 0, 1, .won),
    ])
    func tally(_ granted: Int, _ rejected: Int, _ voters: Int, _ expected: Quorum.VoteOutcome) {
        #expect(Quorum.tally(granted: granted, rejected: rejected, voterCount: voters) == expected)
    }

    @Test("address preference", arguments: [
        ("127.0.1.2", "127.0.1.10", true),
        ("127.0.1.10", "127.0.1.2", false),
        ("10.0.0.1", "9.255.255.255", false),
        ("192.168.0.1", "blade.example", true),
        ("::1", "127.0.0.1", false),
        ("a.example", "b.example", true),
    ])
    func addressOrder(_ lhs: String, _ rhs: String, _ expected: Bool) {
        #expect(AddressOrder.precedes(lhs, rhs) == expected)
    }

    @Test("IPv4 parsing", arguments: [
        ("127.0.1.2", UInt32(0x7f00_0102) as UInt32?),
        ("255.255.255.255", 0xffff_ffff),
        ("256.0.0.1", nil), ("1.2.3", nil), ("1.2.3.4.5", nil), ("1..2.3", nil), ("01234.1.1.1", nil), ("", nil),
    ])
    func ipv4(_ text: String, _ expected: UInt32?) {
        #expect(AddressOrder.ipv4Value(text) == expected)
    }

    @Test("priority overrides address; witnesses are never preferred")
    func preference() {
        let membership = Membership([
            Member(id: MemberID(1), address: "127.0.1.1"),
            Member(id: MemberID(2), address: "127.0.1.10"),
            Member(id: MemberID(3), address: "127.0.1.2"),
            Member(id: MemberID(4), address: "127.0.1.20", priority: 2),
            Member(id: MemberID(9), address: "127.0.0.1", isWitness: true),
        ])
        #expect(membership.preferenceOrder == [MemberID(4), MemberID(1), MemberID(3), MemberID(2)])
        #expect(membership.preferenceRank(of: MemberID(9)) == nil)
        #expect(membership.quorum == 3)
    }

    @Test("the default configuration is sound and its lease is derived from the drift bound")
    func defaults() {
        let config = Config()
        #expect(config.problems().isEmpty)
        #expect(config.tickIntervalMs == 10)
        #expect(config.heartbeatIntervalTicks == 5)
        #expect(config.electionTimeoutTicks == 50)
        // (50 - 1) * 0.99 / 1.01 = 48.03 -> 48, less one tick of margin.
        #expect(config.leaseDurationTicks == 47)
        // The safety inequality of Config's documentation, with the stated bound.
        let rate = Double(config.clockDriftMaxPartsPerMillion) / 1_000_000
        #expect(Double(config.leaseDurationTicks) / (1 - rate) < Double(config.electionTimeoutTicks - 1) / (1 + rate))
    }

    @Test("unsound configurations are reported")
    func unsound() {
        var config = Config()
        config.electionTimeoutTicks = 6
        #expect(!config.problems().isEmpty)
        var limits = Limits()
        limits.appendBytesMax = limits.messageBytesMax
        #expect(!limits.problems().isEmpty)
        limits = Limits()
        limits.snapshotThresholdEntries = limits.logEntriesInMemoryMax
        #expect(!limits.problems().isEmpty)
    }
}
