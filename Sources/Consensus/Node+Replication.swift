// The leader's side (heartbeats, appends, commit, lease, check-quorum) and the follower's
// answers to appends, heartbeats and snapshots.
extension Node {
    // MARK: Leader

    func becomeLeader() {
        precondition(role == .candidate, "only a candidate becomes leader")
        precondition(votedFor == id, "a leader voted for itself")
        setRole(.leader, leader: id)
        leaderSinceTick = now
        committedInTerm = false
        leaseDeadlineTick = 0
        handOverTarget = nil
        progress.removeAll()
        refreshVotingMembers()
        for voter in votingMemberIDs where voter != id {
            progress[voter] = Progress(next: log.lastIndex + 1)
        }
        // Commit an entry of the new term at once: only then is the commit index known, and only
        // then does the leader count as active.
        let entry = Entry(index: log.lastIndex + 1, term: term, kind: .noop)
        log.append(entry)
        markUnstable(from: entry.index)
        for voter in votingMemberIDs where voter != id { sendAppend(to: voter) }
        heartbeatDueTick = now + config.heartbeatIntervalTicks
        maybeCommit()
        updateLease()
    }

    func tickLeader() {
        if handOverTarget != nil && now >= handOverDeadlineTick {
            handOverTarget = nil // Abandoned; the lease was never given up, so carry on.
        }
        updateLease()
        // Check-quorum: a leader a majority has not acknowledged for an election timeout steps
        // down (its lease ran out earlier, since leaseDurationTicks < electionTimeoutTicks).
        let acknowledged = quorumAcknowledgedSendTick() ?? leaderSinceTick
        if now - max(acknowledged, leaderSinceTick) >= config.electionTimeoutTicks {
            becomeFollower(term: term, leader: nil)
            return
        }
        if now >= heartbeatDueTick {
            heartbeatDueTick = now + config.heartbeatIntervalTicks
            broadcastHeartbeat()
        }
    }

    /// The newest send tick that a majority (this member counting as now) acknowledged in this
    /// term, or nil when no majority has.
    func quorumAcknowledgedSendTick() -> Tick? {
        let agreed = agreedValue { voter in voter == id ? now : progress[voter]?.acknowledgedSendTick }
        return agreed.map { min($0, now) }
    }

    /// Extends the lease to `leaseDurationTicks` after the newest send tick a majority acknowledged.
    func updateLease() {
        guard role == .leader, let acknowledged = quorumAcknowledgedSendTick() else { return }
        precondition(acknowledged <= now, "acknowledged a message from the future")
        leaseDeadlineTick = max(leaseDeadlineTick, acknowledged + config.leaseDurationTicks)
    }

    func flags(for peer: MemberID) -> Message.Flags {
        requiresAcknowledgement(from: peer) ? .counted : []
    }

    /// Heartbeats go to fenced peers too (without the `counted` flag), so that a peer that comes
    /// back finds the leader at once and, by answering, lifts its own fence.
    func broadcastHeartbeat() {
        for voter in votingMemberIDs where voter != id {
            guard let peer = progress[voter] else { continue }
            send(Message(kind: .heartbeat, from: id, to: voter, term: term,
                         logIndex: commitIndex, commit: min(peer.match, commitIndex),
                         sendTick: now, flags: flags(for: voter)))
        }
    }

    /// Sends the next append (or the snapshot) to `peer` if its progress allows one now.
    func sendAppend(to peer: MemberID) {
        guard var state = progress[peer] else { return }
        let previousIndex = state.next - 1
        guard previousIndex >= log.snapshot.index, let previousTerm = log.term(at: previousIndex) else {
            sendSnapshot(to: peer)
            return
        }
        guard state.canSend(inflightMax: config.limits.inflightAppendsPerPeerMax) else { return }
        let entries = log.batch(from: state.next, countMax: config.limits.entriesPerAppendMax,
                                bytesMax: config.limits.appendBytesMax)
        if state.state == .replicate && entries.isEmpty { return } // Heartbeats keep it alive.
        send(Message(kind: .append, from: id, to: peer, term: term, logIndex: previousIndex,
                     logTerm: previousTerm, commit: commitIndex, sendTick: now,
                     flags: flags(for: peer), entries: entries))
        if !entries.isEmpty { state.entriesSentTick = now }
        switch state.state {
        case .probe:
            state.probeSent = true
        case .replicate:
            if let last = entries.last {
                state.next = last.index + 1
                state.inflight += 1
            }
        case .snapshot:
            break
        }
        progress[peer] = state
    }

    /// Sends the next chunk of the snapshot to `peer`: the one after the bytes it holds, or the
    /// first when the snapshot changed. One chunk is in flight at a time; its answer sends the
    /// next at once, and a chunk unanswered for two heartbeats is sent again.
    func sendSnapshot(to peer: MemberID, answered: Bool = false) {
        guard var state = progress[peer] else { return }
        let snapshot = log.snapshot
        // A chunk of the same snapshot goes again at most once per two heartbeats unless answered
        // (a follower that keeps refusing cannot start a storm); a new snapshot goes at once.
        if !answered, state.snapshotIndex == snapshot.index, let sent = state.snapshotSentTick,
           now - sent < 2 * config.heartbeatIntervalTicks { return }
        if state.snapshotIndex != snapshot.index {
            state.snapshotIndex = snapshot.index
            state.snapshotOffset = 0
        }
        let total = snapshot.data.count
        let offset = min(state.snapshotOffset, total)
        let end = min(total, offset + config.limits.snapshotChunkBytesMax)
        state.state = .snapshot
        state.snapshotSentTick = now
        state.inflight = 0
        progress[peer] = state
        let chunk = Snapshot(index: snapshot.index, term: snapshot.term, membership: snapshot.membership,
                             data: Array(snapshot.data[offset..<end]))
        send(Message(kind: .installSnapshot, from: id, to: peer, term: term, logIndex: offset, logTerm: total,
                     commit: commitIndex, sendTick: now, flags: flags(for: peer), snapshot: chunk))
    }

    func broadcastAppend() {
        for voter in votingMemberIDs where voter != id {
            sendAppend(to: voter)
        }
    }

    /// Commits the highest index a majority holds, if it is of the current term (Raft never
    /// commits an older term's entry by counting).
    func maybeCommit() {
        guard role == .leader else { return }
        let lastIndex = log.lastIndex
        guard let agreed = agreedValue({ voter in voter == id ? lastIndex : (progress[voter]?.match ?? 0) }) else {
            return
        }
        let index = min(agreed, lastIndex)
        guard index > commitIndex, log.term(at: index) == term else { return }
        precondition(index <= log.lastIndex, "commit beyond the log")
        let wasPending = membershipChangePending
        commitIndex = index
        committedInTerm = true
        if wasPending && !membershipChangePending { refreshVotingMembers() }
    }

    /// Records a follower's echo of a send tick, for the lease. Only ticks of this leadership count.
    func noteAcknowledged(_ peer: MemberID, sendTick: Tick) {
        guard sendTick >= leaderSinceTick, sendTick <= now else { return }
        if let previous = progress[peer]?.acknowledgedSendTick, previous >= sendTick { return }
        progress[peer]?.acknowledgedSendTick = sendTick
    }

    func handleAppendResponse(_ message: Message) {
        guard role == .leader else { return } // A late answer after stepping down.
        guard progress[message.from] != nil else {
            stats.rejectedNonMember += 1
            return
        }
        guard message.logIndex <= log.lastIndex || !message.granted else {
            stats.rejectedImpossible += 1
            return
        }
        noteAcknowledged(message.from, sendTick: message.sendTick)
        if message.granted {
            if progress[message.from]!.acknowledge(match: message.logIndex) { maybeCommit() }
            if handOverTarget == message.from && progress[message.from]!.match == log.lastIndex {
                sendTimeoutNow(to: message.from)
                return
            }
            sendAppend(to: message.from)
        } else {
            let before = progress[message.from]!.next
            progress[message.from]!.probe(hint: message.logIndex)
            // Retry at once only when the probe moved back; otherwise the next heartbeat answer
            // retries, so a follower that keeps refusing cannot start a message storm.
            if progress[message.from]!.next < before {
                sendAppend(to: message.from)
            } else {
                progress[message.from]!.probeSent = true
            }
        }
        updateLease()
    }

    func handleHeartbeatResponse(_ message: Message) {
        guard role == .leader else { return }
        guard var state = progress[message.from] else {
            stats.rejectedNonMember += 1
            return
        }
        noteAcknowledged(message.from, sendTick: message.sendTick)
        state = progress[message.from]!
        if state.match < log.lastIndex {
            switch state.state {
            case .probe:
                state.probeSent = false
            case .replicate:
                // Entries sent before this heartbeat are still unacknowledged: the append or its
                // answer was lost (or is late). Probe again from the follower's end; at worst
                // this resends entries it already holds.
                if state.match < state.next - 1 && message.sendTick > state.entriesSentTick {
                    state.probe(hint: message.logIndex)
                }
            case .snapshot:
                if now - (state.snapshotSentTick ?? now) >= 2 * config.heartbeatIntervalTicks {
                    state.probe(hint: state.match)
                }
            }
            progress[message.from] = state
            sendAppend(to: message.from)
        }
        updateLease()
    }

    /// A follower took (or refused) a chunk that did not complete the snapshot: send the one it
    /// expects. A taken chunk that does not move the follower forward is a late duplicate and is
    /// ignored, so that duplicates cannot start a second stream of chunks.
    func handleSnapshotResponse(_ message: Message) {
        guard role == .leader else { return }
        guard progress[message.from] != nil else {
            stats.rejectedNonMember += 1
            return
        }
        noteAcknowledged(message.from, sendTick: message.sendTick)
        defer { updateLease() }
        guard var state = progress[message.from], state.state == .snapshot,
              state.snapshotIndex == log.snapshot.index, message.logIndex == log.snapshot.index,
              message.commit <= log.snapshot.data.count else { return }
        if message.granted {
            guard message.commit > state.snapshotOffset else { return }
        } else {
            guard message.sendTick == state.snapshotSentTick else { return }
        }
        state.snapshotOffset = message.commit
        progress[message.from] = state
        sendSnapshot(to: message.from, answered: true)
    }

    // MARK: Follower

    /// Accepts `leader` as the leader of the current term and restarts the stickiness window.
    func acceptLeader(_ newLeader: MemberID) {
        if role != .follower || leader != newLeader { becomeFollower(term: term, leader: newLeader) }
        lastLeaderContactTick = now
        resetElectionDeadline()
    }

    func noteFenceEligibility(_ message: Message, leaderCommit: LogIndex) {
        if message.flags.contains(.counted) && commitIndex >= leaderCommit { fenceEligible = true }
    }

    func handleAppend(_ message: Message) {
        guard role != .leader else {
            stats.rejectedImpossible += 1 // Two leaders in one term cannot happen.
            return
        }
        acceptLeader(message.from)
        func answer(granted: Bool, index: LogIndex) {
            send(Message(kind: .appendResponse, from: id, to: message.from, term: term, logIndex: index,
                         sendTick: message.sendTick, flags: granted ? .granted : []))
        }
        var previousIndex = message.logIndex
        var previousTerm = message.logTerm
        var entries = message.entries[...]
        if previousIndex < log.snapshot.index {
            // Our snapshot covers these: committed, hence identical to the leader's.
            let covered = log.snapshot.index - previousIndex
            if entries.count <= covered {
                return answer(granted: true, index: previousIndex + entries.count)
            }
            entries = entries.dropFirst(covered)
            previousIndex = log.snapshot.index
            previousTerm = log.snapshot.term
        }
        guard let localTerm = log.term(at: previousIndex) else {
            return answer(granted: false, index: log.lastIndex) // Behind: retry from our end.
        }
        if localTerm != previousTerm {
            // Skip back over entries of terms newer than the leader's, but never below commit.
            var hint = previousIndex - 1
            while hint > max(commitIndex, log.snapshot.index), let term = log.term(at: hint), term > previousTerm {
                hint -= 1
            }
            return answer(granted: false, index: hint)
        }
        // Find the first entry we do not already hold.
        var firstNew = entries.startIndex
        while firstNew < entries.endIndex, let term = log.term(at: entries[firstNew].index),
              term == entries[firstNew].term {
            firstNew += 1
        }
        if firstNew < entries.endIndex {
            // Terms never decrease along a log; a message that would make them is not honest.
            let precedingTerm = log.term(at: entries[firstNew].index - 1) ?? Int.max
            guard entries[firstNew].term >= precedingTerm else {
                stats.rejectedImpossible += 1
                return
            }
        }
        if firstNew < entries.endIndex && entries[firstNew].index <= log.lastIndex {
            let conflict = entries[firstNew].index
            guard conflict > commitIndex else {
                stats.rejectedImpossible += 1 // It would rewrite a committed entry.
                return
            }
            log.truncate(from: conflict)
            markUnstable(from: conflict)
            if conflict <= membershipIndex { recomputeMembership() }
        }
        var lastNew = firstNew > entries.startIndex ? entries[firstNew - 1].index : previousIndex
        var membershipAppended = false
        for entry in entries[firstNew...] {
            if log.entries.count >= config.limits.logEntriesInMemoryMax { break } // Wait for compaction.
            log.append(entry)
            markUnstable(from: entry.index)
            if entry.kind == .membership { membershipAppended = true }
            lastNew = entry.index
        }
        if membershipAppended { recomputeMembership() }
        let newCommit = min(message.commit, lastNew)
        if newCommit > commitIndex { commitIndex = newCommit }
        noteFenceEligibility(message, leaderCommit: message.commit)
        answer(granted: true, index: lastNew)
    }

    func handleHeartbeat(_ message: Message) {
        guard role != .leader else {
            stats.rejectedImpossible += 1
            return
        }
        acceptLeader(message.from)
        let newCommit = min(message.commit, log.lastIndex)
        if newCommit > commitIndex { commitIndex = newCommit }
        noteFenceEligibility(message, leaderCommit: message.logIndex)
        send(Message(kind: .heartbeatResponse, from: id, to: message.from, term: term,
                     logIndex: log.lastIndex, sendTick: message.sendTick))
    }

    /// Takes one chunk of a snapshot. Chunks are assembled in order, for one leader, term and
    /// snapshot at a time; the last one installs the whole. A chunk at offset 0 starts over.
    func handleInstallSnapshot(_ message: Message) {
        guard role != .leader, let chunk = message.snapshot else {
            stats.rejectedImpossible += 1
            return
        }
        acceptLeader(message.from)
        noteFenceEligibility(message, leaderCommit: message.commit)
        func answerChunk(granted: Bool, holds: Int) {
            send(Message(kind: .snapshotResponse, from: id, to: message.from, term: term, logIndex: chunk.index,
                         commit: holds, sendTick: message.sendTick, flags: granted ? .granted : []))
        }
        guard chunk.index > commitIndex else {
            // Already covered: say how far this member is, as an append's answer would.
            incomingSnapshot = nil
            send(Message(kind: .appendResponse, from: id, to: message.from, term: term,
                         logIndex: commitIndex, sendTick: message.sendTick, flags: .granted))
            return
        }
        let offset = message.logIndex
        let total = message.logTerm
        var pending: IncomingSnapshot
        if offset == 0 {
            incomingSnapshot = nil
            pending = IncomingSnapshot(leader: message.from, term: term, total: total,
                                       snapshot: Snapshot(index: chunk.index, term: chunk.term,
                                                          membership: chunk.membership, data: []))
            pending.snapshot.data.reserveCapacity(total)
            pending.snapshot.data.append(contentsOf: chunk.data)
        } else if var existing = incomingSnapshot, existing.continues(chunk, from: message.from, term: term, total: total) {
            incomingSnapshot = nil // `existing` is now the only reference: the append below is in place.
            guard existing.snapshot.data.count == offset else {
                incomingSnapshot = existing
                return answerChunk(granted: false, holds: existing.snapshot.data.count)
            }
            existing.snapshot.data.append(contentsOf: chunk.data)
            pending = existing
        } else {
            return answerChunk(granted: false, holds: 0)
        }
        guard pending.snapshot.data.count == total else {
            let holds = pending.snapshot.data.count
            incomingSnapshot = pending
            return answerChunk(granted: true, holds: holds)
        }
        let snapshot = pending.snapshot
        let dropped = log.install(snapshot)
        if dropped {
            unstableFrom = snapshot.index + 1 // Storage drops everything after the snapshot.
        } else if let from = unstableFrom, from <= snapshot.index {
            unstableFrom = log.lastIndex > snapshot.index ? log.firstIndex : nil
        }
        commitIndex = snapshot.index
        appliedIndex = snapshot.index
        outSnapshot = snapshot
        outSnapshotFromLeader = true
        recomputeMembership()
        send(Message(kind: .appendResponse, from: id, to: message.from, term: term,
                     logIndex: snapshot.index, sendTick: message.sendTick, flags: .granted))
    }
}

/// A snapshot a follower is assembling from chunks.
struct IncomingSnapshot {
    /// The leader sending it, and its term.
    var leader: MemberID
    var term: Term
    /// The whole length of the state, in bytes.
    var total: Int
    /// Index, term and membership as every chunk states them; `data` the bytes received so far.
    var snapshot: Snapshot

    /// True when `chunk` belongs to this snapshot (wherever its offset).
    func continues(_ chunk: Snapshot, from sender: MemberID, term chunkTerm: Term, total chunkTotal: Int) -> Bool {
        sender == leader && chunkTerm == term && chunk.index == snapshot.index && chunk.term == snapshot.term
            && chunk.membership == snapshot.membership && chunkTotal == total
    }
}
