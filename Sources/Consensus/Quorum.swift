/// Quorum arithmetic, apart from everything else so that it can be tested from a table.
public enum Quorum {
    /// The size of a majority of `count` voters. A majority of zero voters is one, so that an
    /// empty membership can never decide anything.
    public static func majority(of count: Int) -> Int {
        precondition(count >= 0, "negative voter count")
        return count / 2 + 1
    }

    /// The largest value that at least a majority of `values` (one per voter) reach: the commit
    /// index given match indexes, or the oldest send tick a majority acknowledged.
    /// Returns nil when there are too few values to form a majority of `voterCount`.
    public static func majorityValue(_ values: [Int], voterCount: Int) -> Int? {
        let needed = majority(of: voterCount)
        guard values.count >= needed else { return nil }
        let sorted = values.sorted(by: >)
        return sorted[needed - 1]
    }

    /// The outcome of counting votes.
    public enum VoteOutcome: Equatable, Sendable {
        /// A majority granted.
        case won
        /// A majority can no longer be reached.
        case lost
        /// Neither yet.
        case pending
    }

    /// Counts `granted` and `rejected` votes among `voterCount` voters.
    public static func tally(granted: Int, rejected: Int, voterCount: Int) -> VoteOutcome {
        let needed = majority(of: voterCount)
        if granted >= needed { return .won }
        if voterCount - rejected < needed { return .lost }
        return .pending
    }
}
