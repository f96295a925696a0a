/// What the leader knows about one follower's log and liveness.
struct Progress {
    enum State {
        /// Sending one append at a time until the follower's log matches.
        case probe
        /// Streaming appends optimistically, up to `Limits.inflightAppendsPerPeerMax`.
        case replicate
        /// A snapshot is being sent, one chunk at a time, and was not yet installed.
        case snapshot
    }

    /// The highest index known to match the leader's log.
    var match: LogIndex = 0
    /// The next index to send.
    var next: LogIndex
    var state: State = .probe
    /// In probe state: an append was sent and no answer came yet.
    var probeSent = false
    /// In replicate state: appends with entries that have not been answered.
    var inflight = 0
    /// The newest send tick this follower echoed in this term (for the lease), or nil.
    var acknowledgedSendTick: Tick?
    /// The tick at which the last append with entries was sent.
    var entriesSentTick: Tick = 0
    /// The tick at which the last snapshot chunk was sent.
    var snapshotSentTick: Tick?
    /// The index of the snapshot being sent, and how many of its bytes the follower holds (the
    /// offset of the next chunk). Kept across a retransmission; reset when the leader's snapshot
    /// changes or the follower installed it.
    var snapshotIndex: LogIndex?
    var snapshotOffset = 0

    init(next: LogIndex) {
        precondition(next >= 1, "next index must be positive")
        self.next = next
    }

    /// Records that the follower's log matches through `index`. Returns true if that is news.
    mutating func acknowledge(match index: LogIndex) -> Bool {
        probeSent = false
        guard index > match else { return false }
        match = index
        next = max(next, index + 1)
        if state != .replicate {
            state = .replicate
            inflight = 0
            snapshotIndex = nil
            snapshotOffset = 0
        } else {
            inflight = max(0, inflight - 1)
        }
        return true
    }

    /// Starts probing again from just after the known match, or from `hint + 1` if lower.
    mutating func probe(hint: LogIndex) {
        state = .probe
        inflight = 0
        probeSent = false
        if hint < match {
            // The follower holds less than it acknowledged (its storage was lost or replaced):
            // replicate to it again from where it really is.
            match = hint
        }
        next = max(match + 1, min(next, hint + 1))
    }

    /// True when another append may be sent now.
    func canSend(inflightMax: Int) -> Bool {
        switch state {
        case .probe: return !probeSent
        case .replicate: return inflight < inflightMax
        case .snapshot: return false
        }
    }
}
