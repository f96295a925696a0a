/// Every maximum the core enforces, in one place. Each is checked where it applies; `problems`
/// checks how they relate to each other.
public struct Limits: Equatable, Sendable {
    /// The most members (voters, witness included) a membership may hold.
    public var membersMax = 16
    /// The largest encoded message accepted or produced, in bytes.
    public var messageBytesMax = 1 << 20
    /// The largest command a proposal may carry, in bytes.
    public var commandBytesMax = 64 << 10
    /// The largest snapshot the application may hand over, in bytes. It travels in chunks, so it
    /// is bounded by the memory a follower may spend assembling one, not by the message size.
    public var snapshotBytesMax = 32 << 20
    /// The most snapshot bytes one install-snapshot message carries.
    public var snapshotChunkBytesMax = 512 << 10
    /// The most entries one append message carries.
    public var entriesPerAppendMax = 64
    /// The most entry bytes one append message carries (at least one entry is always sent).
    public var appendBytesMax = 512 << 10
    /// The most append messages with entries in flight to one follower.
    public var inflightAppendsPerPeerMax = 8
    /// The most log entries held in memory; beyond it proposals are refused and followers accept
    /// no more until the application compacts.
    public var logEntriesInMemoryMax = 4096
    /// Above this many entries in memory the core asks the application for a snapshot.
    public var snapshotThresholdEntries = 1024
    /// The most proposals appended but not yet committed on the leader.
    public var pendingProposalsMax = 256
    /// The longest member address, in bytes.
    public var addressBytesMax = 255

    /// The defaults.
    public init() {}

    /// Descriptions of every relation between the limits that does not hold; empty when sound.
    public func problems() -> [String] {
        var found: [String] = []
        func require(_ condition: Bool, _ text: String) { if !condition { found.append(text) } }
        require(membersMax >= 1 && membersMax <= 64, "membersMax must be 1...64")
        require(commandBytesMax >= 1, "commandBytesMax must be positive")
        require(entriesPerAppendMax >= 1, "entriesPerAppendMax must be positive")
        require(inflightAppendsPerPeerMax >= 1, "inflightAppendsPerPeerMax must be positive")
        require(appendBytesMax >= commandBytesMax, "appendBytesMax must hold one largest command")
        // One append carries at most appendBytesMax of entry data plus one more entry (the first is
        // always sent) and a fixed overhead per entry.
        let appendWorstBytes = appendBytesMax + commandBytesMax + entriesPerAppendMax * 32 + 128
        require(appendWorstBytes <= messageBytesMax, "an append of appendBytesMax must fit in messageBytesMax")
        let membershipWorstBytes = membersMax * (addressBytesMax + 32)
        require(snapshotChunkBytesMax >= 1, "snapshotChunkBytesMax must be positive")
        require(snapshotBytesMax >= 0, "snapshotBytesMax must not be negative")
        require(snapshotChunkBytesMax + membershipWorstBytes + 128 <= messageBytesMax,
                "a snapshot chunk of snapshotChunkBytesMax must fit in messageBytesMax")
        require(pendingProposalsMax >= 1, "pendingProposalsMax must be positive")
        require(snapshotThresholdEntries >= 1, "snapshotThresholdEntries must be positive")
        require(pendingProposalsMax + snapshotThresholdEntries < logEntriesInMemoryMax,
                "the log must hold the snapshot threshold plus every pending proposal")
        return found
    }
}

/// Timing and limits of one core. Every member of a chassis must use the same values.
///
/// Time is counted in ticks. The engine calls `Node.tick()` once per elapsed tick of the host's
/// monotonic clock; the intended tick is 10 ms (`tickIntervalMs`), which the defaults below assume.
///
/// ## Lease safety and the clock-drift bound
///
/// Assumption: every blade's monotonic clock runs at a rate within ±`clockDriftMaxPartsPerMillion`
/// (default 1%) of real time, so two blades differ by at most twice that. Real oscillators
/// drift by tens of parts per million, so 1% is a wide margin.
///
/// Rules that together make it impossible for two members to be active at the same real instant:
/// 1. A follower that heard from a live leader (or started) less than `electionTimeoutTicks` ago
///    by its own clock grants no vote and no pre-vote (leader stickiness). Restart counts as
///    hearing from a leader, so a crash and a quick restart cannot break rule 2's promise.
/// 2. The leader's lease runs `leaseDurationTicks` from the tick at which it SENT the newest
///    heartbeat or append that a majority acknowledged. Any majority that elects a new leader
///    contains one of those acknowledgers, which withheld its vote for `electionTimeoutTicks`
///    after receiving it.
/// 3. Ticks are whole: a receipt recorded at tick r means the real receipt happened in (r-1, r],
///    and "active at tick T" means the clock reads less than T+1. So the follower waits at
///    least `electionTimeoutTicks - 1` of its ticks, and the lease lasts at most
///    `leaseDurationTicks` of the leader's ticks. With rate bound ρ, the lease is safe when
///    `leaseDurationTicks / (1 - ρ) < (electionTimeoutTicks - 1) / (1 + ρ)`;
///    `leaseDurationTicks` is derived from that, less `leaseSafetyMarginTicks`.
/// 4. A hand-over lets voters skip rule 1 only because the old leader gives up its lease and steps
///    down before it sends the TimeoutNow that starts the transfer.
public struct Config: Equatable, Sendable {
    /// The tick the defaults are designed for, in milliseconds. Informational: the engine owns
    /// the clock and calls `tick()` at this interval.
    public var tickIntervalMs = 10
    /// A leader sends a heartbeat to every follower this often.
    public var heartbeatIntervalTicks = 5
    /// Leader stickiness and check-quorum window: a follower grants no vote within this many
    /// ticks of hearing from a leader; a leader that has not been acknowledged by a majority for
    /// this long steps down.
    public var electionTimeoutTicks = 50
    /// A follower campaigns this many ticks after the stickiness window ends, so that its peers'
    /// windows (measured from slightly different receipt times and clocks) have ended too.
    public var campaignMarginTicks = 2
    /// Each step down the preference order waits this many ticks longer before campaigning, so
    /// the most preferred eligible member normally campaigns first and wins.
    public var preferenceStaggerTicks = 4
    /// A random 0...electionJitterTicks is added to each election timeout, from the injected
    /// generator. Keep it well below `preferenceStaggerTicks`: two clocks may differ by 2% of a
    /// timeout (about one tick) and receipts by a few milliseconds, and the stagger must still
    /// separate neighbours in the preference order by more than a pre-vote round trip.
    public var electionJitterTicks = 1
    /// The bound on each blade's clock rate relative to real time, in parts per million.
    public var clockDriftMaxPartsPerMillion = 10_000
    /// Ticks taken off the computed lease as a margin for rounding.
    public var leaseSafetyMarginTicks = 1
    /// A hand-over that has not reached its target within this many ticks is abandoned and the
    /// leader carries on.
    public var handOverTimeoutTicks = 10
    /// Every named maximum.
    public var limits = Limits()

    /// The defaults: 10 ms ticks, heartbeat 50 ms, election timeout 500 ms, lease 470 ms.
    public init() {}

    /// The timing `chassis-engine` runs with, and `chassis-sim --engine-timing` checks:
    /// - heartbeats every 150 ms: a leader of 16 blades sends and receives 200 messages a second
    ///   (600 at the core's 50 ms), which were most of its CPU time (measured with perf; at 100 ms
    ///   `make bench-replication` gave 1.13 %, at 150 ms 0.92 % in one run). The lease is renewed three
    ///   times within its 470 ms, so two lost rounds in a row still keep it; a follower hears
    ///   the leader three times within its 500 ms of stickiness, and detects a dead one as fast
    ///   as before (the election timeout, not the heartbeat, sets the failover time);
    /// - a 100 ms preference stagger: blades of a chassis boot a few hundred milliseconds apart
    ///   (with 40 ms, 3 of 8 new 4-blade demos elected blade 2 first; with 100 ms, none of 12).
    public static var engine: Config {
        var config = Config()
        config.heartbeatIntervalTicks = 15
        config.preferenceStaggerTicks = 10
        return config
    }

    /// How long a leader stays active after sending a heartbeat that a majority acknowledges;
    /// derived from the election timeout and the drift bound (see the type's documentation).
    public var leaseDurationTicks: Int {
        let rate = clockDriftMaxPartsPerMillion
        let safe = (electionTimeoutTicks - 1) * (1_000_000 - rate) / (1_000_000 + rate)
        // Strict inequality in rule 3: step back one when the division was exact.
        let strict = (electionTimeoutTicks - 1) * (1_000_000 - rate) % (1_000_000 + rate) == 0 ? safe - 1 : safe
        return strict - leaseSafetyMarginTicks
    }

    /// Descriptions of everything unsound in the configuration; empty when usable.
    public func problems() -> [String] {
        var found = limits.problems()
        func require(_ condition: Bool, _ text: String) { if !condition { found.append(text) } }
        require(heartbeatIntervalTicks >= 1, "heartbeatIntervalTicks must be positive")
        require(clockDriftMaxPartsPerMillion >= 0 && clockDriftMaxPartsPerMillion < 100_000,
                "clockDriftMaxPartsPerMillion must be 0..<100000")
        require(electionTimeoutTicks >= 3 * heartbeatIntervalTicks,
                "electionTimeoutTicks must be at least three heartbeats")
        require(leaseDurationTicks > heartbeatIntervalTicks,
                "the lease must outlast a heartbeat interval, or the leader is never active")
        require(campaignMarginTicks >= 1, "campaignMarginTicks must be positive")
        require(electionJitterTicks >= 0, "electionJitterTicks must not be negative")
        require(preferenceStaggerTicks >= 0, "preferenceStaggerTicks must not be negative")
        require(handOverTimeoutTicks >= 1, "handOverTimeoutTicks must be positive")
        return found
    }
}
