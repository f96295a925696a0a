extension Node {
    /// Validates, applies the term rules, then hands the message to its role's handler.
    func stepOne(_ message: Message) {
        stats.messagesStepped += 1
        guard message.to == id, message.from != id else {
            stats.rejectedMisaddressed += 1
            return
        }
        guard isPlausible(message) else {
            stats.rejectedImpossible += 1
            return
        }
        // A peer that speaks is powered on again: its fence no longer stands in for it.
        if !fenced.isEmpty { fenced.remove(message.from) }

        if message.term > term {
            switch message.kind {
            case .preVote:
                break // Answered without changing term: a pre-vote promises nothing.
            case .vote:
                if withinLeaderLease && !message.flags.contains(.transfer) {
                    // Leader stickiness: ignore it entirely, so a rejoining member cannot depose
                    // a healthy leader by raising the term.
                    stats.votesWithheldForLeader += 1
                    return
                }
                becomeFollower(term: message.term, leader: nil)
            case .append, .heartbeat, .installSnapshot, .timeoutNow:
                becomeFollower(term: message.term, leader: message.from)
            case .preVoteResponse where message.granted:
                break // A granted pre-vote carries the term it was asked for; nothing to adopt.
            case .preVoteResponse, .voteResponse, .appendResponse, .heartbeatResponse, .snapshotResponse:
                becomeFollower(term: message.term, leader: nil)
            }
        } else if message.term < term {
            stats.rejectedStaleTerm += 1
            switch message.kind {
            case .append, .heartbeat, .installSnapshot:
                // Tell a stale leader about the newer term so that it steps down. No send tick is
                // echoed: this answer must never extend anyone's lease.
                send(Message(kind: .appendResponse, from: id, to: message.from, term: term,
                             logIndex: log.lastIndex))
            case .preVote:
                send(Message(kind: .preVoteResponse, from: id, to: message.from, term: term,
                             logTerm: message.term))
            case .vote:
                send(Message(kind: .voteResponse, from: id, to: message.from, term: term))
            default:
                break
            }
            return
        }
        lastHeardTick[message.from] = now

        switch message.kind {
        case .preVote: handlePreVote(message)
        case .preVoteResponse: handlePreVoteResponse(message)
        case .vote: handleVote(message)
        case .voteResponse: handleVoteResponse(message)
        case .append: handleAppend(message)
        case .appendResponse: handleAppendResponse(message)
        case .heartbeat: handleHeartbeat(message)
        case .heartbeatResponse: handleHeartbeatResponse(message)
        case .installSnapshot: handleInstallSnapshot(message)
        case .timeoutNow: handleTimeoutNow(message)
        case .snapshotResponse: handleSnapshotResponse(message)
        }
    }

    /// Rejects messages whose indexes and terms cannot come from a correct peer.
    func isPlausible(_ message: Message) -> Bool {
        let limits = config.limits
        // No honest index, term or tick comes near 2^60; refusing larger ones keeps all the
        // arithmetic below far from overflow.
        let numberMax = 1 << 60
        guard message.term >= 0, message.logIndex >= 0, message.logTerm >= 0,
              message.commit >= 0, message.sendTick >= 0,
              message.term < numberMax, message.logIndex < numberMax, message.logTerm < numberMax,
              message.commit < numberMax, message.sendTick < numberMax else { return false }
        if let snapshot = message.snapshot, snapshot.index >= numberMax || snapshot.term >= numberMax { return false }
        switch message.kind {
        case .append:
            guard message.snapshot == nil, message.entries.count <= limits.entriesPerAppendMax,
                  message.logTerm <= message.term else { return false }
            if message.logIndex == 0 && message.logTerm != 0 { return false }
            var expectedIndex = message.logIndex + 1
            var previousTerm = message.logTerm
            for entry in message.entries {
                guard entry.index == expectedIndex, entry.term >= previousTerm, entry.term <= message.term,
                      entry.term > 0 else { return false }
                switch entry.kind {
                case .command: guard entry.data.count <= limits.commandBytesMax else { return false }
                case .noop: guard entry.data.isEmpty else { return false }
                case .membership:
                    guard let membership = entry.membership, membership.voterCount >= 1,
                          membership.voterCount <= limits.membersMax else { return false }
                }
                expectedIndex += 1
                previousTerm = entry.term
            }
            return true
        case .installSnapshot:
            // One chunk: `logIndex` its offset, `logTerm` the state's whole length.
            guard message.entries.isEmpty, let snapshot = message.snapshot else { return false }
            let offset = message.logIndex
            let total = message.logTerm
            return snapshot.term <= message.term && snapshot.index >= 0 && snapshot.term >= 0
                && snapshot.data.count <= limits.snapshotChunkBytesMax
                && total <= limits.snapshotBytesMax && offset + snapshot.data.count <= total
                && (!snapshot.data.isEmpty || total == 0) // every chunk moves the transfer on
                && snapshot.membership.voterCount <= limits.membersMax
                && (snapshot.index > 0 || snapshot.term == 0)
        case .preVote, .vote:
            guard message.entries.isEmpty, message.snapshot == nil else { return false }
            return message.logTerm <= message.term && message.term >= 1
        default:
            return message.entries.isEmpty && message.snapshot == nil
        }
    }
}
