/// One member's election and replication core. Pure: no I/O, no clocks, no threads, no global
/// randomness. Every input (`tick`, `step`, `propose`, operator requests) returns a `Ready` that
/// says what to persist, send and apply. Not thread-safe: one caller at a time.
///
/// The engine's loop, in outline:
///
///     let node = Node(id: me, config: config, persisted: storage.load(), random: generator)
///     handle(node.ready())                      // re-apply committed entries after the snapshot
///     every tick:     handle(node.tick())       // or node.advance(ticks: n) after a pause
///     every message:  handle(node.step(encoded: bytes))
///     func handle(_ ready: Ready) {
///         storage.write(ready.snapshot, ready.truncateFrom, ready.entries, ready.hardState) // fsync
///         for message in ready.messages { network.send(message.encode(), to: message.to) }
///         if ready.snapshotIsFromLeader, let s = ready.snapshot { application.restore(s.data) }
///         for entry in ready.committed { application.apply(entry) }
///         if let index = ready.snapshotWanted { handle(try node.compact(upTo: index, data: application.snapshot())) }
///         publish(lease: ready.leaseDeadlineTick, reason: ready.noActiveReason)
///     }
///
/// Per-role behaviour lives in `Node+Election.swift` (follower, pre-candidate, candidate) and
/// `Node+Replication.swift` (leader, and the follower's side of replication); membership,
/// hand-over, fencing and compaction in `Node+Operator.swift`.
public final class Node {
    /// This member's identity.
    public let id: MemberID
    /// Timing and limits; the same on every member.
    public let config: Config
    var random: any RandomNumberGenerator

    // MARK: Persistent state (written through `Ready.hardState`, entries and snapshots)

    /// The current term.
    public internal(set) var term: Term = 0
    var votedFor: MemberID?
    /// The highest index known committed.
    public internal(set) var commitIndex: LogIndex = 0
    var log: RaftLog

    // MARK: Volatile state

    /// The membership in force: the last one in the log, committed or not.
    public internal(set) var membership: Membership
    var membershipIndex: LogIndex
    /// The membership before the latest change, when that change is in the log (not the snapshot).
    var previousMembership: Membership?
    /// Members of every membership decisions need, sorted.
    var votingMembers: [MemberID] = []
    /// The current role.
    public internal(set) var role: Role = .follower
    /// The leader this member knows in its term, if any (itself when leading).
    public internal(set) var leader: MemberID?
    /// Ticks since construction.
    public internal(set) var now: Tick = 0
    /// The last index handed out in `Ready.committed` (or covered by a restored snapshot).
    public internal(set) var appliedIndex: LogIndex
    var electionDeadlineTick: Tick = 0
    /// The tick at which a live leader was last heard (or the core started). No vote is granted
    /// within `electionTimeoutTicks` of it.
    var lastLeaderContactTick: Tick = 0
    var heartbeatDueTick: Tick = 0
    var votesGranted: Set<MemberID> = []
    var votesRejected: Set<MemberID> = []
    var progress = MemberMap<Progress>()
    var leaderSinceTick: Tick = 0
    /// Exclusive: active at ticks below it.
    var leaseDeadlineTick: Tick = 0
    var committedInTerm = false
    var handOverTarget: MemberID?
    var handOverDeadlineTick: Tick = 0
    /// Peers the engine confirmed powered off (only in a two-voter membership without witness).
    var fenced: Set<MemberID> = []
    /// True once this member has, since it started, held everything a counting leader committed;
    /// only then may it count a fenced peer's vote.
    var fenceEligible = false
    var lastHeardTick = MemberMap<Tick>()
    /// The snapshot this follower is receiving in chunks, if any (at most `snapshotBytesMax`).
    var incomingSnapshot: IncomingSnapshot?
    /// Counters of what was received and refused.
    public internal(set) var stats = Stats()

    // MARK: Output under construction

    var outMessages: [Message] = []
    var outRoleChanges: [RoleChange] = []
    var outSnapshot: Snapshot?
    var outSnapshotFromLeader = false
    var unstableFrom: LogIndex?
    var persistedHardState: HardState
    var outAppended: (index: LogIndex, term: Term)?

    /// Restarts a member from what it persisted. Call `ready()` first: it hands out the committed
    /// entries after the snapshot for the application to re-apply (after restoring the snapshot).
    /// Votes are withheld for `electionTimeoutTicks` after construction (see `Config`).
    public init(id: MemberID, config: Config = Config(), persisted: PersistentState,
                random: any RandomNumberGenerator) {
        let problems = config.problems()
        precondition(problems.isEmpty, "unsound configuration: \(problems.joined(separator: "; "))")
        self.id = id
        self.config = config
        self.random = random
        self.log = RaftLog(snapshot: persisted.snapshot, entries: persisted.entries)
        let hardState = persisted.hardState
        precondition(hardState.commitIndex <= log.lastIndex, "persisted commit index beyond the persisted log")
        self.term = hardState.term
        self.votedFor = hardState.votedFor
        self.commitIndex = max(hardState.commitIndex, log.snapshot.index)
        self.appliedIndex = log.snapshot.index
        self.persistedHardState = hardState
        let (membership, membershipIndex) = log.membership(atOrBelow: log.lastIndex)
        self.membership = membership
        self.membershipIndex = membershipIndex
        if membershipIndex > log.snapshot.index {
            previousMembership = log.membership(atOrBelow: membershipIndex - 1).membership
        }
        refreshVotingMembers()
        if hardState.term == 0 {
            // A member that persisted no term has never acknowledged a leader (every leader's term
            // is at least 1), so no lease depends on it: no stickiness window at start. A new
            // chassis then elects its most preferred blade at once, even if the blades started a
            // few hundred milliseconds apart. After any term, a restart waits the window out.
            lastLeaderContactTick = -config.electionTimeoutTicks
        }
        resetElectionDeadline()
    }

    /// Creates a member of a new chassis (every member is given the same `members`), or, with an
    /// empty list, a blade that waits to be added by the leader. The first `Ready` carries the
    /// initial snapshot (index 0) to persist.
    public static func bootstrap(id: MemberID, members: [Member], config: Config = Config(),
                                 random: any RandomNumberGenerator) -> Node {
        let snapshot = Snapshot(index: 0, term: 0, membership: Membership(members), data: [])
        let node = Node(id: id, config: config,
                        persisted: PersistentState(hardState: HardState(), snapshot: snapshot, entries: []),
                        random: random)
        node.outSnapshot = snapshot
        return node
    }

    // MARK: Inputs

    /// Advances time by one tick.
    public func tick() -> Ready {
        tickOnce()
        return collect()
    }

    /// Advances time by `count` ticks at once, as after a pause of the process. A leader ticks
    /// through them one by one until it steps down (check-quorum ends that within an election
    /// timeout, since nothing was acknowledged meanwhile); any other role jumps to the last tick,
    /// so a long pause costs one campaign at most, not one per timeout that elapsed.
    public func advance(ticks count: Int) -> Ready {
        precondition(count >= 0, "time does not run backwards")
        var remaining = count
        while remaining > 0 && role == .leader {
            tickOnce()
            remaining -= 1
        }
        if remaining > 0 {
            now += remaining - 1
            tickOnce()
        }
        return collect()
    }

    /// Handles one message from a peer.
    public func step(_ message: Message) -> Ready {
        stepOne(message)
        return collect()
    }

    /// Decodes and handles one message; undecodable bytes are counted in `stats` and dropped.
    /// - Parameter sender: the member the transport authenticated the bytes as coming from; a
    ///   message that claims another sender is refused (one member's key cannot speak for another).
    public func step(encoded bytes: [UInt8], from sender: MemberID? = nil) -> Ready {
        do {
            let message = try Message.decode(bytes, limits: config.limits)
            if let sender, message.from != sender {
                stats.rejectedWrongSender += 1
                return collect()
            }
            stepOne(message)
        } catch {
            stats.rejectedMalformed += 1
        }
        return collect()
    }

    /// Whatever output is pending (after construction, the committed entries to re-apply).
    public func ready() -> Ready { collect() }

    // MARK: Queries

    /// True when this member is the active manager at `tick` of its own clock: it leads, has
    /// committed an entry of its term, and holds the lease at that tick. Pass the clock's current
    /// tick, even if `tick()` has not caught up with it yet.
    public func isActive(atTick tick: Tick) -> Bool {
        role == .leader && committedInTerm && tick < leaseDeadlineTick
    }

    /// The lease deadline (exclusive) while this member is active, else nil.
    public var leaseDeadline: Tick? { isActive(atTick: now) ? leaseDeadlineTick : nil }

    /// The next tick at which `tick()` may do anything; every tick before it only advances the
    /// clock. A driver that skips ticks up to this one (catching up with `advance(ticks:)` before
    /// each `step`) sees exactly what ticking every tick would give. The engine need not use it.
    public var nextDeadlineTick: Tick {
        guard role == .leader else { return max(now + 1, electionDeadlineTick) }
        var deadline = heartbeatDueTick
        let acknowledged = max(quorumAcknowledgedSendTick() ?? leaderSinceTick, leaderSinceTick)
        deadline = min(deadline, acknowledged + config.electionTimeoutTicks)
        if handOverTarget != nil { deadline = min(deadline, handOverDeadlineTick) }
        return max(now + 1, deadline)
    }

    /// The last index in the log.
    public var lastIndex: LogIndex { log.lastIndex }

    /// The snapshot the log starts after.
    public var snapshot: Snapshot { log.snapshot }

    /// This member's view of the cluster.
    public var status: Status {
        let members = membership.members.map { member in
            MemberStatus(member: member,
                         lastHeardTick: member.id == id ? now : lastHeardTick[member.id],
                         matchIndex: member.id == id ? log.lastIndex : progress[member.id]?.match,
                         confirmedDown: fenced.contains(member.id))
        }
        return Status(id: id, role: role, term: term, leader: leader, commitIndex: commitIndex,
                      appliedIndex: appliedIndex, lastIndex: log.lastIndex, tick: now,
                      leaseDeadlineTick: leaseDeadline, noActiveReason: noActiveReason(),
                      members: members, stats: stats)
    }

    // MARK: Internals shared by every role

    func tickOnce() {
        now += 1
        if role == .leader { tickLeader() } else { tickElection() }
    }

    func send(_ message: Message) {
        outMessages.append(message)
    }

    func markUnstable(from index: LogIndex) {
        unstableFrom = min(unstableFrom ?? index, index)
    }

    func setRole(_ newRole: Role, leader newLeader: MemberID?) {
        let oldRole = role
        let oldLeader = leader
        role = newRole
        leader = newLeader
        if newRole != .follower || newLeader != oldLeader { incomingSnapshot = nil }
        if oldRole != newRole || oldLeader != newLeader {
            outRoleChanges.append(RoleChange(oldRole: oldRole, newRole: newRole, term: term, leader: newLeader))
        }
    }

    /// Becomes a follower in `newTerm` (which may be the current one), forgetting leadership.
    func becomeFollower(term newTerm: Term, leader newLeader: MemberID?) {
        precondition(newTerm >= term, "terms only grow")
        if newTerm > term {
            term = newTerm
            votedFor = nil
        }
        setRole(.follower, leader: newLeader)
        progress.removeAll()
        handOverTarget = nil
        committedInTerm = false
        leaseDeadlineTick = 0
        votesGranted = []
        votesRejected = []
        resetElectionDeadline()
    }

    func resetElectionDeadline() {
        let rank = membership.preferenceRank(of: id) ?? 0
        let jitterRange = UInt64(config.electionJitterTicks + 1)
        let jitter = Int(random.next() % jitterRange)
        // The stickiness window must end first; a member that already waited it out (a lost or
        // stalled campaign) retries after a heartbeat interval instead of a whole timeout.
        let earliest = max(lastLeaderContactTick + config.electionTimeoutTicks, now + config.heartbeatIntervalTicks)
        electionDeadlineTick = earliest + config.campaignMarginTicks + rank * config.preferenceStaggerTicks + jitter
    }

    /// True while a live leader was heard within the election timeout (or this member leads):
    /// no vote may be granted then, except for a hand-over.
    var withinLeaderLease: Bool {
        role == .leader || now - lastLeaderContactTick < config.electionTimeoutTicks
    }

    /// True when this member may take part in elections as a candidate.
    var canCampaign: Bool {
        guard let me = membership.member(id) else { return false }
        return !me.isWitness
    }


    func collect() -> Ready {
        var ready = Ready()
        if let snapshot = outSnapshot {
            ready.snapshot = snapshot
            ready.snapshotIsFromLeader = outSnapshotFromLeader
            outSnapshot = nil
            outSnapshotFromLeader = false
        }
        if let from = unstableFrom {
            ready.truncateFrom = from
            let start = max(from, log.firstIndex)
            if start <= log.lastIndex { ready.entries = Array(log.slice(from: start, through: log.lastIndex)) }
            unstableFrom = nil
        }
        let hardState = HardState(term: term, votedFor: votedFor, commitIndex: commitIndex)
        if hardState != persistedHardState {
            ready.hardState = hardState
            persistedHardState = hardState
        }
        if commitIndex > appliedIndex {
            precondition(appliedIndex >= log.snapshot.index, "applied index below the snapshot")
            ready.committed = Array(log.slice(from: appliedIndex + 1, through: commitIndex))
            appliedIndex = commitIndex
        }
        if !outMessages.isEmpty {
            ready.messages = outMessages
            outMessages = []
        }
        if !outRoleChanges.isEmpty {
            ready.roleChanges = outRoleChanges
            outRoleChanges = []
        }
        ready.appended = outAppended
        outAppended = nil
        if isActive(atTick: now) {
            ready.leaseDeadlineTick = leaseDeadlineTick
        } else {
            ready.noActiveReason = noActiveReason()
        }
        if log.entries.count > config.limits.snapshotThresholdEntries && appliedIndex > log.snapshot.index {
            ready.snapshotWanted = appliedIndex
        }
        return ready
    }

    func noActiveReason() -> NoActiveReason? {
        if isActive(atTick: now) { return nil }
        guard let me = membership.member(id) else { return .notAMember }
        let voters = membership.voterCount
        if role == .leader {
            if !committedInTerm { return .electedNotCommitted(term: term) }
            var acknowledged = 1
            for voter in membership.voterIDs where voter != id {
                if let tick = progress[voter]?.acknowledgedSendTick, now - tick < config.electionTimeoutTicks {
                    acknowledged += 1
                }
            }
            return .leaderWithoutLease(term: term, acknowledged: acknowledged, voters: voters)
        }
        if leader != nil, now - lastLeaderContactTick < config.electionTimeoutTicks { return nil }
        var reachable = 1
        for voter in membership.voterIDs where voter != id {
            if let tick = lastHeardTick[voter], now - tick < config.electionTimeoutTicks { reachable += 1 }
        }
        if membership.isTwoBladesWithoutWitness {
            let peerIsFenced = membership.voterIDs.contains { $0 != id && fenced.contains($0) }
            if peerIsFenced {
                if !fenceEligible { return .fencedButNotCaughtUp }
            } else if reachable < 2 {
                return .peerUnreachableNotFenced(reachable: reachable, voters: voters)
            }
        }
        if me.isWitness { return .witnessWaiting(term: term) }
        return .noLeader(term: term, reachable: reachable, voters: voters)
    }
}
