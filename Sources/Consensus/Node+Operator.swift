// Proposals and operator requests: membership changes, hand-over, fencing, compaction.
extension Node {
    /// Appends a command to the log (leader only). It is acknowledged to the client only once it
    /// comes back in `Ready.committed`; `Ready.appended` says where it went.
    public func propose(_ command: [UInt8]) throws(RequestError) -> Ready {
        try checkCanAppend(bytes: command.count)
        appendAsLeader(kind: .command, data: command)
        return collect()
    }

    /// Adds one member (hot-add of a blade into an empty slot, or a witness). Leader only, one
    /// change at a time, after the leader committed an entry of its term (so that single-member
    /// changes stay safe across leader changes). The change is in force once appended.
    public func addMember(_ member: Member) throws(RequestError) -> Ready {
        try checkCanChangeMembership()
        guard !member.address.isEmpty, member.address.utf8.count <= config.limits.addressBytesMax else {
            stats.requestsRefused += 1
            throw .invalidAddress
        }
        guard !membership.contains(member.id), !membership.members.contains(where: { $0.address == member.address }) else {
            stats.requestsRefused += 1
            throw .alreadyMember
        }
        guard membership.voterCount < config.limits.membersMax else {
            stats.requestsRefused += 1
            throw .tooManyMembers
        }
        appendAsLeader(kind: .membership, data: Membership(membership.members + [member]).encode())
        return collect()
    }

    /// Removes one member (a dead blade, say). The leader cannot remove itself: hand over first.
    public func removeMember(_ memberID: MemberID) throws(RequestError) -> Ready {
        try checkCanChangeMembership()
        guard memberID != id else {
            stats.requestsRefused += 1
            throw .cannotRemoveLeader
        }
        guard membership.contains(memberID) else {
            stats.requestsRefused += 1
            throw .noSuchMember
        }
        appendAsLeader(kind: .membership,
                       data: Membership(membership.members.filter { $0.id != memberID }).encode())
        return collect()
    }

    /// Hands the active role to `target` (or, if nil, to the most preferred up-to-date blade that
    /// was heard recently). The leader brings the target up to date, gives up its lease, steps
    /// down and tells the target to campaign at once; with messages on time this completes within
    /// two heartbeats. Abandoned after `handOverTimeoutTicks` if the target does not catch up.
    public func handOver(to target: MemberID? = nil) throws(RequestError) -> Ready {
        try checkLeading()
        let chosen: MemberID
        if let target {
            guard target != id, let member = membership.member(target), !member.isWitness,
                  !fenced.contains(target), progress[target] != nil else {
                stats.requestsRefused += 1
                throw .noHandOverTarget
            }
            chosen = target
        } else {
            var best: MemberID?
            var bestMatch = -1
            for candidate in membership.preferenceOrder where candidate != id && !fenced.contains(candidate) {
                guard let state = progress[candidate], let heard = state.acknowledgedSendTick,
                      now - heard < config.electionTimeoutTicks else { continue }
                if state.match > bestMatch {
                    best = candidate
                    bestMatch = state.match
                }
            }
            guard let best else {
                stats.requestsRefused += 1
                throw .noHandOverTarget
            }
            chosen = best
        }
        handOverTarget = chosen
        handOverDeadlineTick = now + config.handOverTimeoutTicks
        if progress[chosen]!.match == log.lastIndex {
            sendTimeoutNow(to: chosen)
        } else {
            if progress[chosen]!.state == .probe { progress[chosen]!.probeSent = false }
            sendAppend(to: chosen)
        }
        return collect()
    }

    /// The engine's fence confirmation: `member` is known powered off (chassis midplane, IPMI).
    /// Only used in a two-blade membership without witness, where it stands in for the peer's vote
    /// and acknowledgements until the peer is heard from again or `clearDown` is called. A member
    /// counts a fenced peer's vote only after it has caught up with that peer since it started,
    /// so that a blade that restarts alone never takes over with a stale log.
    public func confirmDown(_ member: MemberID) -> Ready {
        if member != id && decisionMemberships.contains(where: { $0.isTwoBladesWithoutWitness && $0.contains(member) }) {
            fenced.insert(member)
            if role == .leader {
                maybeCommit()
                updateLease()
            } else if canCampaign && fenceEligible && now - lastLeaderContactTick >= config.electionTimeoutTicks {
                // The fence is news: campaign now rather than at the next election timeout.
                startPreVote()
            }
        }
        return collect()
    }

    /// Withdraws a fence confirmation.
    public func clearDown(_ member: MemberID) -> Ready {
        fenced.remove(member)
        return collect()
    }

    /// Replaces the log through `index` by a snapshot of the application's state at `index`
    /// (which must have been applied). Call when `Ready.snapshotWanted` asks.
    public func compact(upTo index: LogIndex, data: [UInt8]) throws(RequestError) -> Ready {
        guard index > log.snapshot.index, index <= appliedIndex, data.count <= config.limits.snapshotBytesMax,
              let entryTerm = log.term(at: index) else {
            stats.requestsRefused += 1
            throw .invalidCompaction
        }
        let snapshot = Snapshot(index: index, term: entryTerm,
                                membership: log.membership(atOrBelow: index).membership, data: data)
        log.install(snapshot)
        if let from = unstableFrom, from <= index {
            unstableFrom = log.lastIndex > index ? log.firstIndex : nil
        }
        outSnapshot = snapshot
        outSnapshotFromLeader = false
        return collect()
    }

    // MARK: Internals

    /// This member leads and is not handing over: what every operator request needs.
    func checkLeading() throws(RequestError) {
        guard role == .leader else {
            stats.requestsRefused += 1
            throw .notLeader(leader: leader)
        }
        guard handOverTarget == nil else {
            stats.requestsRefused += 1
            throw .handOverInProgress
        }
    }

    func checkCanAppend(bytes: Int) throws(RequestError) {
        try checkLeading()
        guard bytes <= config.limits.commandBytesMax else {
            stats.requestsRefused += 1
            throw .commandTooLarge(bytes: bytes)
        }
        guard log.lastIndex - commitIndex < config.limits.pendingProposalsMax else {
            stats.requestsRefused += 1
            throw .tooManyPending
        }
        guard log.entries.count < config.limits.logEntriesInMemoryMax else {
            stats.requestsRefused += 1
            throw .logFull
        }
    }

    func checkCanChangeMembership() throws(RequestError) {
        try checkCanAppend(bytes: 0)
        guard committedInTerm else {
            stats.requestsRefused += 1
            throw .notReady
        }
        guard membershipIndex <= commitIndex else {
            stats.requestsRefused += 1
            throw .membershipChangePending
        }
    }

    func appendAsLeader(kind: EntryKind, data: [UInt8]) {
        precondition(role == .leader, "only the leader appends")
        let entry = Entry(index: log.lastIndex + 1, term: term, kind: kind, data: data)
        log.append(entry)
        markUnstable(from: entry.index)
        outAppended = (entry.index, term)
        if kind == .membership { recomputeMembership() }
        broadcastAppend()
        maybeCommit()
    }

    /// Takes the membership from the log's last membership entry (or the snapshot) and adjusts
    /// progress and role to it.
    func recomputeMembership() {
        let (newMembership, index) = log.membership(atOrBelow: log.lastIndex)
        membershipIndex = index
        previousMembership = index > log.snapshot.index ? log.membership(atOrBelow: index - 1).membership : nil
        membership = newMembership
        refreshVotingMembers()
        if role == .leader && !membership.contains(id) { becomeFollower(term: term, leader: nil) }
    }

    /// Rule 4 of `Config`: give up the lease and step down, then tell the target to campaign.
    func sendTimeoutNow(to target: MemberID) {
        precondition(role == .leader, "only a leader hands over")
        send(Message(kind: .timeoutNow, from: id, to: target, term: term))
        becomeFollower(term: term, leader: nil)
    }
}
