/// An election term. Terms only grow.
public typealias Term = Int
/// A position in the replicated log; the first entry is at 1, index 0 is the empty prefix.
public typealias LogIndex = Int
/// A count of ticks on one member's own clock, starting at 0 when the core is constructed.
public typealias Tick = Int

/// The state that must be on stable storage before any message of the same `Ready` is sent.
public struct HardState: Equatable, Sendable {
    /// The current term.
    public var term: Term
    /// The member voted for in `term`, if any.
    public var votedFor: MemberID?
    /// The highest index known committed.
    public var commitIndex: LogIndex

    /// Describes a hard state.
    public init(term: Term = 0, votedFor: MemberID? = nil, commitIndex: LogIndex = 0) {
        self.term = term
        self.votedFor = votedFor
        self.commitIndex = commitIndex
    }
}

/// What a log entry carries.
public enum EntryKind: UInt8, Sendable {
    /// An application command (opaque bytes).
    case command = 0
    /// The empty entry a new leader appends to commit its term.
    case noop = 1
    /// A new membership (encoded with `Membership.encode`), in force as soon as it is appended.
    case membership = 2
}

/// One entry of the replicated log.
public struct Entry: Equatable, Sendable {
    /// Its position.
    public var index: LogIndex
    /// The term of the leader that created it.
    public var term: Term
    /// What it carries.
    public var kind: EntryKind
    /// The command bytes, or the encoded membership.
    public var data: [UInt8]

    /// Describes an entry.
    public init(index: LogIndex, term: Term, kind: EntryKind = .command, data: [UInt8] = []) {
        self.index = index
        self.term = term
        self.kind = kind
        self.data = data
    }

    /// The membership a `.membership` entry carries, or nil.
    public var membership: Membership? {
        guard kind == .membership else { return nil }
        return try? Membership.decode(data)
    }
}

/// A compacted prefix of the log: the application's state up to `index`, as opaque bytes,
/// with the membership in force at `index`.
public struct Snapshot: Equatable, Sendable {
    /// The last index the snapshot covers.
    public var index: LogIndex
    /// The term of that entry.
    public var term: Term
    /// The membership in force at `index`.
    public var membership: Membership
    /// The application's state, opaque to the core.
    public var data: [UInt8]

    /// Describes a snapshot.
    public init(index: LogIndex, term: Term, membership: Membership, data: [UInt8]) {
        self.index = index
        self.term = term
        self.membership = membership
        self.data = data
    }
}

/// Everything a restarting member reads back from its storage.
public struct PersistentState: Equatable, Sendable {
    /// The last hard state written.
    public var hardState: HardState
    /// The last snapshot written.
    public var snapshot: Snapshot
    /// The entries after the snapshot, contiguous from `snapshot.index + 1`.
    public var entries: [Entry]

    /// Describes persisted state.
    public init(hardState: HardState, snapshot: Snapshot, entries: [Entry]) {
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
    }
}

/// The roles of the protocol.
public enum Role: String, Sendable {
    /// Follows a leader (or waits for one).
    case follower
    /// Asks for pre-votes without changing its term.
    case preCandidate
    /// Asks for votes in a new term.
    case candidate
    /// Replicates the log; active while it holds the lease.
    case leader
}

/// A change of role or of the known leader.
public struct RoleChange: Equatable, Sendable {
    /// The role before.
    public var oldRole: Role
    /// The role after.
    public var newRole: Role
    /// The term after.
    public var term: Term
    /// The leader known after, if any.
    public var leader: MemberID?
}

/// Counters of what the core received and refused. Never reset.
public struct Stats: Equatable, Sendable {
    /// Messages given to `step`.
    public var messagesStepped = 0
    /// Bytes that did not decode (counted by `step(encoded:)`).
    public var rejectedMalformed = 0
    /// Messages from an older term.
    public var rejectedStaleTerm = 0
    /// Messages from a sender that is not a member where membership is required.
    public var rejectedNonMember = 0
    /// Messages with indexes or terms that cannot be right, or that make no sense in this role.
    public var rejectedImpossible = 0
    /// Messages addressed to another member, or claiming to come from this one.
    public var rejectedMisaddressed = 0
    /// Messages whose sender is not the member the transport authenticated them as coming from.
    public var rejectedWrongSender = 0
    /// Vote and pre-vote requests refused because a live leader was heard recently.
    public var votesWithheldForLeader = 0
    /// Proposals and operator requests refused.
    public var requestsRefused = 0
}

/// Why no member is known to be the active manager, from this member's point of view.
public enum NoActiveReason: Equatable, Sendable, CustomStringConvertible {
    /// This member is not in the membership it knows.
    case notAMember
    /// A witness never becomes active; no leader is known.
    case witnessWaiting(term: Term)
    /// Two voters, the peer silent and not confirmed down.
    case peerUnreachableNotFenced(reachable: Int, voters: Int)
    /// Two voters, the peer confirmed down, but this member has not caught up with it since start.
    case fencedButNotCaughtUp
    /// An election is under way or cannot succeed yet.
    case noLeader(term: Term, reachable: Int, voters: Int)
    /// This member won but has not committed an entry of its term yet.
    case electedNotCommitted(term: Term)
    /// This member leads but a majority has not acknowledged it recently.
    case leaderWithoutLease(term: Term, acknowledged: Int, voters: Int)
    /// This member leads but is handing over.
    case handingOver(to: MemberID)

    public var description: String {
        switch self {
        case .notAMember: return "not a member of the configuration this blade knows"
        case let .witnessWaiting(term): return "witness: no leader known in term \(term)"
        case let .peerUnreachableNotFenced(reachable, voters):
            return "no quorum: \(reachable) of \(voters) voters reachable; peer not confirmed down"
        case .fencedButNotCaughtUp:
            return "peer confirmed down, but this blade has not caught up with it since it started"
        case let .noLeader(term, reachable, voters):
            return "no leader in term \(term): \(reachable) of \(voters) voters reachable, election under way"
        case let .electedNotCommitted(term): return "elected in term \(term), committing its first entry"
        case let .leaderWithoutLease(term, acknowledged, voters):
            return "leader of term \(term) without lease: \(acknowledged) of \(voters) voters acknowledged recently"
        case let .handingOver(target): return "handing over to \(target)"
        }
    }
}

/// The output of every call into the core. Persist `snapshot`, `truncateFrom`/`entries` and
/// `hardState` (in that order, atomically if possible) BEFORE sending `messages`; then send;
/// then apply `committed` in order.
public struct Ready: Sendable {
    /// The hard state to persist, when it changed.
    public var hardState: HardState?
    /// A snapshot to persist (then drop stored entries at or below its index). When
    /// `snapshotIsFromLeader` is true the application must also restore its state from it.
    public var snapshot: Snapshot?
    /// True when `snapshot` came from the leader and replaces the application's state.
    public var snapshotIsFromLeader = false
    /// Drop every stored entry at this index or above, before appending `entries`.
    public var truncateFrom: LogIndex?
    /// Entries to append to storage.
    public var entries: [Entry] = []
    /// Messages to send, each to `message.to`, after persisting.
    public var messages: [Message] = []
    /// Committed entries to apply, in order, after persisting.
    public var committed: [Entry] = []
    /// Changes of role or leader, in order.
    public var roleChanges: [RoleChange] = []
    /// The tick before which this member is the active manager; nil when it is not.
    public var leaseDeadlineTick: Tick?
    /// Why there is no active manager, or nil when one is known.
    public var noActiveReason: NoActiveReason?
    /// Set when the log in memory is long: call `compact(upTo:data:)` with the application's
    /// state at an index up to this one.
    public var snapshotWanted: LogIndex?
    /// Where a successful proposal or membership request was appended.
    public var appended: (index: LogIndex, term: Term)?

    /// True when there is nothing to persist, send or apply.
    public var isEmpty: Bool {
        hardState == nil && snapshot == nil && truncateFrom == nil && entries.isEmpty
            && messages.isEmpty && committed.isEmpty && roleChanges.isEmpty
    }
}

/// Why a proposal or operator request was refused.
public enum RequestError: Error, Equatable, Sendable {
    /// This member is not the leader; the leader it knows, if any.
    case notLeader(leader: MemberID?)
    /// A hand-over is in progress.
    case handOverInProgress
    /// The command exceeds `Limits.commandBytesMax`.
    case commandTooLarge(bytes: Int)
    /// `Limits.pendingProposalsMax` proposals are already waiting.
    case tooManyPending
    /// The log in memory is full until the application compacts.
    case logFull
    /// The new leader has not committed an entry of its term yet.
    case notReady
    /// Another membership change has not committed yet.
    case membershipChangePending
    /// The member is already present, or the address is taken.
    case alreadyMember
    /// No such member.
    case noSuchMember
    /// The membership would exceed `Limits.membersMax`.
    case tooManyMembers
    /// The leader cannot remove itself; hand over first.
    case cannotRemoveLeader
    /// The address is empty or too long.
    case invalidAddress
    /// No member is eligible to take over.
    case noHandOverTarget
    /// The snapshot request is out of range or too large.
    case invalidCompaction
}

/// One member's view of another, for `Status`.
public struct MemberStatus: Equatable, Sendable {
    /// The member.
    public var member: Member
    /// The tick at which this member last heard from it; nil if never.
    public var lastHeardTick: Tick?
    /// On the leader, the highest index known replicated on it.
    public var matchIndex: LogIndex?
    /// True when the engine confirmed it powered off.
    public var confirmedDown: Bool
}

/// A member's view of the cluster.
public struct Status: Equatable, Sendable {
    /// This member.
    public var id: MemberID
    /// Its role.
    public var role: Role
    /// Its term.
    public var term: Term
    /// The leader it knows, if any.
    public var leader: MemberID?
    /// Its commit index.
    public var commitIndex: LogIndex
    /// The last index handed out for applying.
    public var appliedIndex: LogIndex
    /// The last index in its log.
    public var lastIndex: LogIndex
    /// Its current tick.
    public var tick: Tick
    /// The tick before which it is active, if it is.
    public var leaseDeadlineTick: Tick?
    /// Why no active manager is known, if none is.
    public var noActiveReason: NoActiveReason?
    /// Every member of the membership it knows.
    public var members: [MemberStatus]
    /// Its counters.
    public var stats: Stats
}
