// Followers, pre-candidates and candidates: timeouts, pre-votes, votes.
extension Node {
    func tickElection() {
        guard now >= electionDeadlineTick else { return }
        if canCampaign {
            startPreVote()
        } else {
            resetElectionDeadline()
        }
    }

    /// Asks for pre-votes for `term + 1` without changing the term, so that a member that cannot
    /// win (partitioned, or behind) never raises the term and never disturbs a healthy leader.
    func startPreVote() {
        precondition(now - lastLeaderContactTick >= config.electionTimeoutTicks,
                     "campaigning within the leader-stickiness window")
        setRole(.preCandidate, leader: nil)
        refreshVotingMembers()
        votesGranted = [id]
        votesRejected = []
        resetElectionDeadline()
        // Fenced voters are asked too: one that answers is powered on again (its answer lifts
        // the fence, in `step`), and may be unable to speak first (restarted before it learnt the
        // membership, it never campaigns): asking only the others left such a chassis leaderless.
        for voter in votingMemberIDs where voter != id {
            send(Message(kind: .preVote, from: id, to: voter, term: term + 1,
                         logIndex: log.lastIndex, logTerm: log.lastTerm))
        }
        tallyPreVotes()
    }

    /// Campaigns in a new term. A hand-over campaign (`transfer`) skips the pre-vote, and its
    /// requests are granted despite leader stickiness because the old leader stepped down first.
    func startElection(transfer: Bool) {
        term += 1
        votedFor = id
        setRole(.candidate, leader: nil)
        refreshVotingMembers()
        votesGranted = [id]
        votesRejected = []
        resetElectionDeadline()
        for voter in votingMemberIDs where voter != id {
            send(Message(kind: .vote, from: id, to: voter, term: term, logIndex: log.lastIndex,
                         logTerm: log.lastTerm, flags: transfer ? .transfer : []))
        }
        tallyVotes()
    }

    func tallyPreVotes() {
        switch electionOutcome() {
        case .won: startElection(transfer: false)
        case .lost: becomeFollower(term: term, leader: nil)
        case .pending: break
        }
    }

    func tallyVotes() {
        switch electionOutcome() {
        case .won: becomeLeader()
        case .lost: becomeFollower(term: term, leader: nil)
        case .pending: break
        }
    }

    func handlePreVote(_ message: Message) {
        var granted = message.term > term && log.isUpToDate(lastIndex: message.logIndex, lastTerm: message.logTerm)
        if !acceptsCandidate(message.from) {
            stats.rejectedNonMember += 1
            granted = false
        } else if granted && withinLeaderLease {
            stats.votesWithheldForLeader += 1
            granted = false
        }
        // A grant carries the term asked for, so that a voter with an older term still counts.
        send(Message(kind: .preVoteResponse, from: id, to: message.from, term: granted ? message.term : term,
                     logTerm: message.term, flags: granted ? .granted : []))
    }

    func handlePreVoteResponse(_ message: Message) {
        guard role == .preCandidate, message.logTerm == term + 1, countVoteAnswer(message) else { return }
        tallyPreVotes()
    }

    /// Notes a voter's answer to this member's (pre-)vote request; an answer from a non-voter is
    /// counted as rejected traffic and ignored (false).
    func countVoteAnswer(_ message: Message) -> Bool {
        guard isVoter(message.from) else {
            stats.rejectedNonMember += 1
            return false
        }
        if message.granted {
            votesGranted.insert(message.from)
        } else {
            votesRejected.insert(message.from)
        }
        return true
    }

    /// Candidates must be voters of the membership this member knows, except while this member
    /// is not in it itself (just added and not caught up): it then votes on logs alone, as Raft
    /// requires, or a chassis whose leader died right after adding it could never elect again.
    func acceptsCandidate(_ candidate: MemberID) -> Bool {
        isVoter(candidate) || !membership.contains(id)
    }

    func handleVote(_ message: Message) {
        precondition(message.term == term, "vote request term not reconciled")
        func answer(_ granted: Bool) {
            send(Message(kind: .voteResponse, from: id, to: message.from, term: term,
                         flags: granted ? .granted : []))
        }
        guard acceptsCandidate(message.from) else {
            stats.rejectedNonMember += 1
            return answer(false)
        }
        if votedFor == message.from { return answer(true) } // A repeated request.
        if withinLeaderLease && !message.flags.contains(.transfer) {
            stats.votesWithheldForLeader += 1
            return answer(false)
        }
        let free = votedFor == nil && leader == nil
        if free && log.isUpToDate(lastIndex: message.logIndex, lastTerm: message.logTerm) {
            // Persisted through Ready.hardState before the answer is sent.
            votedFor = message.from
            resetElectionDeadline()
            return answer(true)
        }
        answer(false)
    }

    func handleVoteResponse(_ message: Message) {
        guard role == .candidate, countVoteAnswer(message) else { return }
        tallyVotes()
    }

    func handleTimeoutNow(_ message: Message) {
        guard role == .follower, leader == message.from, canCampaign else {
            stats.rejectedImpossible += 1
            return
        }
        startElection(transfer: true)
    }
}
