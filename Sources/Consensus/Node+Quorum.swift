// Which majorities a decision needs, and how fence confirmations count in them.
//
// Single-member changes are safe in Raft because the old and new memberships' majorities
// overlap. A fence confirmation breaks that reasoning (it stands in for a member that may have
// acted before it died), so this core is stricter: while the latest membership change is not yet
// committed, every decision (election, commit, lease) needs a majority of BOTH the previous and
// the current membership. A fence counts only inside a two-blade membership without witness,
// and for a candidate only once it caught up with its peer since starting (`fenceEligible`).
extension Node {
    /// True while the latest membership entry is not known committed.
    var membershipChangePending: Bool { previousMembership != nil && membershipIndex > commitIndex }

    /// True while the latest membership change is not yet committed (for tests and tracing).
    public var membershipChangePendingForTesting: Bool { membershipChangePending }

    /// The memberships whose majorities every decision needs.
    var decisionMemberships: [Membership] {
        if membershipChangePending, let previousMembership { return [membership, previousMembership] }
        return [membership]
    }

    /// Every member whose vote or acknowledgement can matter now, sorted (so iteration is
    /// deterministic).
    var votingMemberIDs: [MemberID] { votingMembers }

    /// True when `member` votes in some membership that decisions need.
    func isVoter(_ member: MemberID) -> Bool {
        if membership.contains(member) { return true }
        return membershipChangePending && (previousMembership?.contains(member) ?? false)
    }

    /// True when fenced members count in `membership`'s majority.
    func fenceCounts(in membership: Membership, asCandidate: Bool) -> Bool {
        !fenced.isEmpty && membership.isTwoBladesWithoutWitness && (!asCandidate || fenceEligible)
    }

    /// The largest value that a majority of every decision membership reaches, where `value`
    /// gives each member's value (nil when unknown) and fenced members count as reaching any value.
    func agreedValue(_ value: (MemberID) -> Int?) -> Int? {
        var result: Int?
        for decisionMembership in decisionMemberships {
            let fence = fenceCounts(in: decisionMembership, asCandidate: false)
            var values: [Int] = []
            values.reserveCapacity(decisionMembership.voterCount)
            for voter in decisionMembership.voterIDs {
                if fence && fenced.contains(voter) {
                    values.append(Int.max)
                } else if let known = value(voter) {
                    values.append(known)
                }
            }
            guard let agreed = Quorum.majorityValue(values, voterCount: decisionMembership.voterCount) else {
                return nil
            }
            result = min(result ?? agreed, agreed)
        }
        return result
    }

    /// The outcome of the current pre-vote or vote: won only when won in every decision
    /// membership, lost as soon as lost in one.
    func electionOutcome() -> Quorum.VoteOutcome {
        var allWon = true
        for decisionMembership in decisionMemberships {
            let fence = fenceCounts(in: decisionMembership, asCandidate: true)
            var granted = 0
            var rejected = 0
            for voter in decisionMembership.voterIDs {
                if votesGranted.contains(voter) || (fence && fenced.contains(voter)) {
                    granted += 1
                } else if votesRejected.contains(voter) {
                    rejected += 1
                }
            }
            switch Quorum.tally(granted: granted, rejected: rejected, voterCount: decisionMembership.voterCount) {
            case .lost: return .lost
            case .pending: allWon = false
            case .won: break
            }
        }
        return allWon ? .won : .pending
    }

    /// True when the leader needs `peer`'s acknowledgement for every decision: it is in a
    /// two-blade membership that decisions need, and not fenced. Sent as `Message.Flags.counted`.
    func requiresAcknowledgement(from peer: MemberID) -> Bool {
        guard !fenced.contains(peer) else { return false }
        return decisionMemberships.contains { $0.isTwoBladesWithoutWitness && $0.contains(peer) }
    }

    /// Recomputes the cached voter list after a change of membership or of commit.
    func refreshVotingMembers() {
        var ids = Set(membership.voterIDs)
        if membershipChangePending, let previousMembership { ids.formUnion(previousMembership.voterIDs) }
        let sorted = ids.sorted()
        guard sorted != votingMembers else { return }
        votingMembers = sorted
        if role == .leader {
            for voter in votingMembers where voter != id && progress[voter] == nil {
                progress[voter] = Progress(next: log.lastIndex + 1)
            }
            progress.retain { ids.contains($0) }
        }
    }
}
