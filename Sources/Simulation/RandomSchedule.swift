import Plumbing
import Consensus
import EngineCore

/// The outcome of one random schedule.
public struct ScheduleResult: Sendable {
    /// The seed that replays it.
    public var seed: UInt64
    /// Blades and witness at the start.
    public var blades: Int
    /// True when a witness took part.
    public var witness: Bool
    /// Every violation, each naming the seed.
    public var violations: [String]
    /// Microseconds from the crash of the active manager to the next one, in the clean probe at
    /// the end of the schedule (latency 0-5 ms, no other faults).
    public var failoverUs: Int?
    /// Messages delivered.
    public var messages: Int
    /// Simulated time at the end.
    public var simulatedUs: Int

    /// Describes a result.
    public init(seed: UInt64, blades: Int, witness: Bool, violations: [String], failoverUs: Int?,
                messages: Int, simulatedUs: Int) {
        self.seed = seed
        self.blades = blades
        self.witness = witness
        self.violations = violations
        self.failoverUs = failoverUs
        self.messages = messages
        self.simulatedUs = simulatedUs
    }
}

/// Random fault schedules over 2 to 16 members, checked for safety at every step and for
/// liveness once the faults stop.
public enum RandomSchedule {
    /// Set to trace every delivered message in verbose runs.
    nonisolated(unsafe) public static var traceMessagesEnabled = false
    /// Runs the schedule of `seed`. `trace` receives every event when set.
    /// `eagerTicks` delivers every tick instead of only each core's deadlines (slower, same checks).
    /// `engineTiming` runs the cores with `Config.engine` (the timing chassis-engine uses) instead
    /// of the core's defaults.
    /// `publication`: the engine's order of publishing the lease and sending (another only to show
    /// that the checker catches it).
    public static func run(seed: UInt64, eagerTicks: Bool = false, engineTiming: Bool = false,
                           publication: LeasePublication.Order = .shrinkBeforeSending,
                           trace: ((String) -> Void)? = nil) -> ScheduleResult {
        var random = SplitMix64(seed: seed)
        func uniform(_ range: ClosedRange<Int>) -> Int {
            range.lowerBound + Int(random.next() % UInt64(range.upperBound - range.lowerBound + 1))
        }
        func chance(_ percent: Int) -> Bool { uniform(0...99) < percent }

        let blades = uniform(2...16)
        let witness = blades < 16 && (blades % 2 == 0 ? chance(50) : chance(15))
        var options = Cluster.Options()
        if engineTiming { options.config = .engine }
        options.config.limits.snapshotThresholdEntries = uniform(8...64)
        options.config.limits.pendingProposalsMax = 32
        options.config.limits.logEntriesInMemoryMax = 256
        options.config.limits.entriesPerAppendMax = uniform(1...16)
        options.config.limits.inflightAppendsPerPeerMax = uniform(1...8)
        // Application snapshots are 16 bytes to about 1 KB: mostly several chunks each.
        options.config.limits.snapshotChunkBytesMax = uniform(16...512)
        options.encodeMessages = chance(25)
        options.lazyTicks = !eagerTicks
        options.publication = publication
        let cluster = Cluster(options: options, seed: random.next())
        cluster.trace = trace
        cluster.traceMessages = trace != nil && traceMessagesEnabled
        let usePriorities = chance(15)
        var initial: [Member] = []
        for index in 1...blades {
            initial.append(Member(id: MemberID(UInt32(index)), address: "127.0.1.\(index)",
                                  priority: usePriorities && chance(30) ? uniform(1...3) : nil))
        }
        if witness {
            initial.append(Member(id: MemberID(100), address: "127.0.2.1", isWitness: true))
        }
        for member in initial { cluster.addSimMember(member) }
        let startDescription = "seed=\(seed) blades=\(blades) witness=\(witness)"
        trace?(startDescription)
        for slot in 0..<initial.count {
            cluster.schedule(atUs: uniform(0...20_000)) { cluster.startFresh(slot, initial: initial) }
        }

        // Proposals throughout.
        let chaosEndUs = uniform(1_500...3_500) * 1_000
        var proposalCounter: UInt64 = 0
        var time = uniform(0...50_000)
        while time < chaosEndUs {
            cluster.schedule(atUs: time) {
                proposalCounter += 1
                var command: [UInt8] = []
                appendUInt64(&command, proposalCounter)
                cluster.propose(command)
            }
            time += uniform(20_000...80_000)
        }

        // Fence confirmations, as the engine's IPMI poller would give them: for a member
        // crashed at least 20 ms ago, on the survivors of a two-blade membership.
        var crashedAtUs: [Int: Int] = [:]
        func confirmFences() {
            for slot in 0..<cluster.slotCount where !cluster.isUp(slot) && !cluster.isRemoved(slot) {
                guard let crashedAt = crashedAtUs[slot], cluster.nowUs - crashedAt >= 20_000 else { continue }
                for other in 0..<cluster.slotCount where other != slot && cluster.isUp(other) {
                    guard let node = cluster.node(other), node.membership.isTwoBladesWithoutWitness else { continue }
                    cluster.powerOff(slot)
                    _ = cluster.request(other) { $0.confirmDown(cluster.member(slot).id) }
                }
            }
        }
        func crash(_ slot: Int) {
            guard cluster.isUp(slot) else { return }
            cluster.crash(slot)
            crashedAtUs[slot] = cluster.nowUs
        }
        var fenceTime = 50_000
        let endOfEverythingUs = chaosEndUs + 12_000_000
        while fenceTime < endOfEverythingUs {
            cluster.schedule(atUs: fenceTime) { confirmFences() }
            fenceTime += 50_000
        }

        // Faults.
        var nextNewID: UInt32 = 200
        func randomUpSlot(preferLeader: Bool) -> Int? {
            if preferLeader, chance(40), let leader = cluster.currentLeaderSlot() { return leader }
            let up = (0..<cluster.slotCount).filter { cluster.isUp($0) }
            return up.isEmpty ? nil : up[uniform(0...up.count - 1)]
        }
        let faultCount = chaosEndUs / 250_000
        for _ in 0..<faultCount {
            let at = uniform(300_000...chaosEndUs)
            let kind = uniform(0...99)
            cluster.schedule(atUs: at) {
                switch kind {
                case 0..<14:
                    if let slot = randomUpSlot(preferLeader: true) { crash(slot) }
                case 14..<26:
                    let down = (0..<cluster.slotCount).filter { !cluster.isUp($0) && !cluster.isRemoved($0) }
                    if !down.isEmpty { cluster.restart(down[uniform(0...down.count - 1)]) }
                case 26..<36:
                    if let slot = randomUpSlot(preferLeader: true) {
                        cluster.pause(slot, durationUs: uniform(50...1_500) * 1_000)
                    }
                case 36..<44:
                    let count = cluster.slotCount
                    guard count >= 2 else { break }
                    let size = uniform(1...count - 1)
                    var group: [Int] = []
                    for slot in 0..<count where group.count < size && chance(50) { group.append(slot) }
                    if !group.isEmpty { cluster.partition(group) }
                case 44..<50:
                    if let slot = randomUpSlot(preferLeader: true) { cluster.partition([slot]) }
                case 50..<58:
                    // Asymmetric: some directed links fail.
                    let count = cluster.slotCount
                    for _ in 0..<uniform(1...max(1, count)) {
                        let from = uniform(0...count - 1)
                        let to = uniform(0...count - 1)
                        if from != to { cluster.block(from: from, to: to) }
                    }
                    if let leader = cluster.currentLeaderSlot(), chance(50) {
                        let outbound = chance(50)
                        for other in 0..<count where other != leader {
                            if outbound { cluster.block(from: leader, to: other) } else { cluster.block(from: other, to: leader) }
                        }
                    }
                case 58..<68:
                    cluster.blockedLinks.removeAll()
                    cluster.lossPerMillion = 0
                case 68..<76:
                    cluster.lossPerMillion = uniform(0...30) * 10_000
                    cluster.duplicatePerMillion = uniform(0...10) * 10_000
                    cluster.spikePerMillion = uniform(0...10) * 10_000
                case 76..<84:
                    if let leader = cluster.currentLeaderSlot() {
                        let target: MemberID? = chance(50) ? nil : cluster.member(uniform(0...cluster.slotCount - 1)).id
                        _ = cluster.request(leader) { try $0.handOver(to: target) }
                    }
                case 84..<92:
                    guard let leader = cluster.currentLeaderSlot(), let node = cluster.node(leader),
                          node.membership.voterCount < options.config.limits.membersMax else { break }
                    let id = MemberID(nextNewID)
                    nextNewID += 1
                    let member = Member(id: id, address: "127.0.1.\(id.rawValue - 100)")
                    let sim = cluster.addSimMember(member)
                    cluster.startFresh(sim.slot, initial: [])
                    _ = cluster.request(leader) { try $0.addMember(member) }
                default:
                    guard let leader = cluster.currentLeaderSlot(), let node = cluster.node(leader) else { break }
                    let blades = node.membership.members.filter { !$0.isWitness && $0.id != node.id }
                    guard blades.count >= 2 else { break }
                    let victim = blades[uniform(0...blades.count - 1)]
                    _ = cluster.request(leader) { try $0.removeMember(victim.id) }
                }
            }
        }

        var violations: [String] = []
        func fail(_ text: String) { violations.append(text) }

        cluster.run(untilUs: chaosEndUs)

        // Faults stop: heal the network, restart everyone that was not removed.
        cluster.heal()
        for slot in 0..<cluster.slotCount where !cluster.isUp(slot) && !cluster.isRemoved(slot) {
            cluster.restart(slot)
        }
        // A pause that began before the faults stopped runs out first: a paused leader is no
        // working member, and liveness is measured from the moment every member runs again.
        cluster.run(untilUs: chaosEndUs + 2_000_000) {
            (0..<cluster.slotCount).allSatisfy { !cluster.isPaused($0) }
        }
        // Liveness: an active manager, then a committed proposal.
        let livenessBoundUs = 4_000_000
        if cluster.run(untilUs: cluster.nowUs + livenessBoundUs, stopWhen: { hasActive(cluster) }) == nil {
            fail("liveness: no active manager within \(livenessBoundUs / 1000)ms after faults stopped")
        } else if !commitsProposal(cluster, marker: 0xAAAA, boundUs: 2_000_000) {
            fail("liveness: a proposal did not commit within 2000ms with a connected majority")
        }

        // Clean failover probe: wait for pauses to end and the cluster to settle, then crash the
        // active manager and measure until the next member is active.
        var failoverUs: Int?
        if violations.isEmpty {
            let settleStart = cluster.nowUs
            cluster.run(untilUs: settleStart + 2_000_000) {
                (0..<cluster.slotCount).allSatisfy { !cluster.isPaused($0) }
            }
            cluster.run(untilUs: cluster.nowUs + 500_000)
            // A member that restarted with a higher term (from a campaign it lost before its
            // crash) may depose the leader once; wait for the next one rather than fail.
            cluster.run(untilUs: cluster.nowUs + livenessBoundUs) { hasActive(cluster) }
            if let active = (0..<cluster.slotCount).first(where: { cluster.isActive($0) && cluster.isUp($0) }) {
                let crashAt = cluster.nowUs
                crash(active)
                let found = cluster.run(untilUs: crashAt + 3_000_000) {
                    (0..<cluster.slotCount).contains { $0 != active && cluster.isActive($0) }
                }
                if let found {
                    failoverUs = found - crashAt
                    if !commitsProposal(cluster, marker: 0xBBBB, boundUs: 2_000_000) {
                        fail("liveness: a proposal did not commit within 2000ms after failover")
                    }
                } else {
                    fail("failover: no new active manager within 3000ms of crashing the active one")
                }
            } else {
                fail("liveness: no active manager within \(livenessBoundUs / 1000)ms while the healed cluster settled")
            }
            cluster.run(untilUs: cluster.nowUs + 200_000)
        }

        violations = cluster.violations + violations
        let tagged = violations.map { "seed=\(seed) blades=\(blades) witness=\(witness): \($0)" }
        return ScheduleResult(seed: seed, blades: blades, witness: witness, violations: tagged,
                              failoverUs: failoverUs, messages: cluster.messagesDelivered,
                              simulatedUs: cluster.nowUs)
    }

    static func hasActive(_ cluster: Cluster) -> Bool {
        (0..<cluster.slotCount).contains { cluster.isActive($0) }
    }

    /// Proposes a marker command (again whenever a leader loses it) until it commits, within `boundUs`.
    static func commitsProposal(_ cluster: Cluster, marker: UInt64, boundUs: Int) -> Bool {
        let deadline = cluster.nowUs + boundUs
        var command: [UInt8] = []
        appendUInt64(&command, marker)
        cluster.watchedCommand = command
        cluster.watchedCommandCommitted = false
        defer { cluster.watchedCommand = nil }
        while cluster.nowUs < deadline {
            if cluster.propose(command) != nil {
                let retryAt = min(deadline, cluster.nowUs + 300_000)
                if cluster.run(untilUs: retryAt, stopWhen: { cluster.watchedCommandCommitted }) != nil {
                    return true
                }
            } else {
                cluster.run(untilUs: min(deadline, cluster.nowUs + 10_000))
            }
        }
        return cluster.watchedCommandCommitted
    }
}

/// Aggregates many schedules into the figures `chassis-sim` prints.
public struct ScheduleSummary: Sendable {
    /// Schedules run.
    public var schedules = 0
    /// Violation lines, in seed order.
    public var violations: [String] = []
    /// Failover samples in microseconds.
    public var failoversUs: [Int] = []
    /// Messages delivered in all schedules.
    public var messages = 0
    /// The schedule with the slowest failover, and that failover in microseconds.
    public var slowestFailover: (seed: UInt64, us: Int)?

    /// Creates an empty summary.
    public init() {}

    /// Adds one result.
    public mutating func add(_ result: ScheduleResult) {
        schedules += 1
        violations += result.violations
        if let failover = result.failoverUs {
            failoversUs.append(failover)
            if failover > (slowestFailover?.us ?? -1) { slowestFailover = (result.seed, failover) }
        }
        messages += result.messages
    }

    /// The `q`-quantile (0...1) of the failover samples in milliseconds, nearest rank.
    public func failoverMs(quantile q: Double) -> Double {
        guard !failoversUs.isEmpty else { return 0 }
        let sorted = failoversUs.sorted()
        let rank = min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))
        return Double(sorted[rank]) / 1000
    }

    /// The final line, exactly as the issue specifies.
    public var line: String {
        func format(_ value: Double) -> String { String(Int(value.rounded())) }
        return "simulated: schedules=\(schedules) violations=\(violations.count) "
            + "failover_ms_p50=\(format(failoverMs(quantile: 0.5))) "
            + "failover_ms_p99=\(format(failoverMs(quantile: 0.99))) "
            + "failover_ms_max=\(format(failoverMs(quantile: 1.0)))"
    }
}
