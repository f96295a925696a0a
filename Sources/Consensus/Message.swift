/// One message between members. A flat record: each kind uses the fields its documentation names
/// and leaves the others zero, which keeps the wire codec small and the decoder strict.
public struct Message: Equatable, Sendable {
    /// What a message is.
    public enum Kind: UInt8, Sendable, CaseIterable {
        /// Pre-vote request: `term` is the term the sender would campaign in; `logIndex`/`logTerm`
        /// its last entry.
        case preVote = 1
        /// Pre-vote answer: `logTerm` is the term asked about; `term` is that term when `granted`,
        /// else the voter's own term.
        case preVoteResponse = 2
        /// Vote request: `term`, last entry in `logIndex`/`logTerm`, `isTransfer` for a hand-over.
        case vote = 3
        /// Vote answer: `term`, `granted`.
        case voteResponse = 4
        /// Append: `logIndex`/`logTerm` precede `entries`; `commit` is the leader's commit index;
        /// `sendTick` is echoed back for the lease.
        case append = 5
        /// Append answer: `granted` on success with `logIndex` the last index now matching;
        /// on refusal `logIndex` is a hint where to retry. Echoes `sendTick`.
        case appendResponse = 6
        /// Heartbeat: `commit` is the follower's safe commit index, `logIndex` the leader's own
        /// commit index; `sendTick` is echoed back.
        case heartbeat = 7
        /// Heartbeat answer: echoes `sendTick`; `logIndex` is the follower's last index.
        case heartbeatResponse = 8
        /// Install snapshot, one chunk: `snapshot` with its `data` the bytes of the application's
        /// state from offset `logIndex`, `logTerm` the state's whole length in bytes; `commit` is the
        /// leader's commit index; `sendTick` is echoed back. The last chunk is answered by
        /// `appendResponse` (granted, the snapshot's index), every other one by `snapshotResponse`.
        case installSnapshot = 9
        /// Hand-over: campaign now, the leader has stepped down.
        case timeoutNow = 10
        /// Answer to a chunk that did not complete a snapshot: `logIndex` is the snapshot's index,
        /// `commit` the number of its bytes the follower holds (the offset it expects next),
        /// `granted` when the chunk was taken. Echoes `sendTick`.
        case snapshotResponse = 11
    }

    /// Flag bits on the wire.
    public struct Flags: OptionSet, Equatable, Sendable {
        /// The bits as carried on the wire.
        public let rawValue: UInt8
        /// Wraps bits.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// A vote or pre-vote granted, or an append accepted.
        public static let granted = Flags(rawValue: 1)
        /// A vote request that is part of a hand-over.
        public static let transfer = Flags(rawValue: 2)
        /// The leader counts the receiver in its quorum (the receiver is not fenced).
        public static let counted = Flags(rawValue: 4)
        /// Every defined bit.
        public static let all: Flags = [.granted, .transfer, .counted]
    }

    /// What the message is.
    public var kind: Kind
    /// The sender.
    public var from: MemberID
    /// The receiver.
    public var to: MemberID
    /// The sender's term (see each kind).
    public var term: Term
    /// An index whose meaning depends on the kind.
    public var logIndex: LogIndex = 0
    /// A term whose meaning depends on the kind.
    public var logTerm: Term = 0
    /// A commit index.
    public var commit: LogIndex = 0
    /// The leader's tick when it sent the request, echoed by the answer.
    public var sendTick: Tick = 0
    /// Flag bits.
    public var flags: Flags = []
    /// Entries of an append.
    public var entries: [Entry] = []
    /// The snapshot of an install-snapshot.
    public var snapshot: Snapshot?

    /// Describes a message.
    public init(kind: Kind, from: MemberID, to: MemberID, term: Term, logIndex: LogIndex = 0,
                logTerm: Term = 0, commit: LogIndex = 0, sendTick: Tick = 0, flags: Flags = [],
                entries: [Entry] = [], snapshot: Snapshot? = nil) {
        self.kind = kind
        self.from = from
        self.to = to
        self.term = term
        self.logIndex = logIndex
        self.logTerm = logTerm
        self.commit = commit
        self.sendTick = sendTick
        self.flags = flags
        self.entries = entries
        self.snapshot = snapshot
    }

    /// True for a granted vote or pre-vote, or an accepted append.
    public var granted: Bool { flags.contains(.granted) }
}

extension Message: CustomStringConvertible {
    public var description: String {
        var text = "\(from)->\(to) \(kind) t\(term)"
        switch kind {
        case .preVote, .vote:
            text += " last=\(logIndex)/t\(logTerm)"
            if flags.contains(.transfer) { text += " transfer" }
        case .preVoteResponse, .voteResponse:
            text += granted ? " granted" : " rejected"
        case .append:
            text += " prev=\(logIndex)/t\(logTerm) entries=\(entries.count) commit=\(commit)"
        case .appendResponse:
            text += granted ? " match=\(logIndex)" : " reject hint=\(logIndex)"
        case .heartbeat:
            text += " commit=\(commit)"
        case .heartbeatResponse:
            text += " last=\(logIndex)"
        case .installSnapshot:
            if let snapshot {
                text += " snapshot=\(snapshot.index)/t\(snapshot.term) bytes=\(logIndex)+\(snapshot.data.count)/\(logTerm)"
            }
        case .snapshotResponse:
            text += (granted ? " holds=" : " refused, holds=") + "\(commit) of snapshot \(logIndex)"
        case .timeoutNow:
            break
        }
        return text
    }
}
