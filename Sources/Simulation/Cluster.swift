import Plumbing
import Consensus
import EngineCore

/// The stable storage of one simulated member: what survives a crash.
struct SimDisk {
    var hardState = HardState()
    var snapshot: Snapshot
    var entries: [Entry] = []

    /// Applies a `Ready`'s persistence in the documented order; returns a problem, if any.
    mutating func persist(_ ready: Ready) -> String? {
        if let newSnapshot = ready.snapshot {
            if let first = entries.first, newSnapshot.index >= first.index {
                entries.removeFirst(min(entries.count, newSnapshot.index - first.index + 1))
            }
            if let first = entries.first, first.index != newSnapshot.index + 1 { entries.removeAll() }
            snapshot = newSnapshot
        }
        if let from = ready.truncateFrom {
            let base = snapshot.index + 1
            if from <= base {
                entries.removeAll()
            } else if from - base < entries.count {
                entries.removeSubrange((from - base)...)
            }
        }
        for entry in ready.entries {
            guard entry.index == snapshot.index + 1 + entries.count else {
                return "persisted entry \(entry.index) does not follow \(snapshot.index + entries.count)"
            }
            entries.append(entry)
        }
        if let hardState = ready.hardState { self.hardState = hardState }
        return nil
    }
}

/// One simulated blade (or witness): its core, disk, application state and clock.
final class SimMember {
    let slot: Int
    let member: Member
    var node: Node?
    var disk: SimDisk
    /// The application's state: how far it applied and a hash of everything applied.
    var appliedIndex: LogIndex = 0
    var appliedHash: UInt64 = 0
    /// Local clock: localUs = offsetUs + realUs * rate.
    let rate: Double
    let offsetUs: Double
    var startLocalUs: Double = 0
    var incarnation = 0
    var pausedUntilUs: Int?
    var backlog: [Message] = []
    /// The lease a crashed incarnation published, on the local clock; the web app would trust
    /// it until then, so the checker does too.
    var ghostLeaseEndLocalUs: Double = -1
    /// The engine's publish path (the engine's own `LeasePublication`, on the local clock in
    /// nanoseconds): what this member's web app trusts. Kept across a crash, since the web app
    /// outlives its engine: it answers as active until the published deadline.
    var lease: LeasePublication?
    var removed = false
    /// The core tick the earliest pending tick event is for (later events for other ticks are stale).
    var scheduledTickTarget = Int.max

    init(slot: Int, member: Member, rate: Double, offsetUs: Double) {
        self.slot = slot
        self.member = member
        self.rate = rate
        self.offsetUs = offsetUs
        self.disk = SimDisk(snapshot: Snapshot(index: 0, term: 0, membership: .empty, data: []))
    }

    var isUp: Bool { node != nil }
    var isPaused: Bool { pausedUntilUs != nil }

    func localUs(atRealUs realUs: Int) -> Double { offsetUs + Double(realUs) * rate }
}

/// A whole chassis of cores on simulated time, in one thread: a seeded network with latency,
/// loss, duplication, delay spikes and partitions; crashes, restarts and pauses; and checkers
/// for every safety property after every step.
public final class Cluster {
    /// Knobs of the simulated world.
    public struct Options: Sendable {
        /// The cores' configuration.
        public var config = Config()
        /// Message latency is uniform in 0...latencyMaxUs.
        public var latencyMaxUs = 5_000
        /// Each clock's rate differs from real time by at most this (≤ the core's stated bound).
        public var clockDriftPartsPerMillion = 10_000
        /// Encode and decode every message, exercising the wire codec.
        public var encodeMessages = true
        /// Deliver ticks only at each core's next deadline (`Node.nextDeadlineTick`), catching its
        /// clock up before every message; equivalent to ticking every tick, and much faster.
        public var lazyTicks = true
        /// The order of publishing the lease and sending (the engine's is `.shrinkBeforeSending`;
        /// `.afterApplying` is for the test that shows the checker catches the other).
        public var publication: LeasePublication.Order = .shrinkBeforeSending
        /// Creates the defaults.
        public init() {}
    }

    /// The knobs this cluster runs with.
    public let options: Options
    let tickUs: Double
    /// Simulated real time, in microseconds.
    public private(set) var nowUs = 0
    var random: SplitMix64
    var members: [SimMember] = []
    var slotByID: [MemberID: Int] = [:]
    /// The same, indexed by raw identity for the hot path (identities in the simulator are small).
    var slotByRawID: [Int] = Array(repeating: -1, count: 1024)
    var queue = EventQueue()
    var actions: [() -> Void] = []
    /// Directed links that drop everything: from * 256 + to.
    var blockedLinks = Set<Int>()
    var lossPerMillion = 0
    var duplicatePerMillion = 0
    var spikePerMillion = 0
    var spikeMaxUs = 50_000
    /// Every violation found, in order.
    public private(set) var violations: [String] = []
    var leaderByTerm: [Term: MemberID] = [:]
    var committedHashes: [UInt64] = [0]
    var committedMembership: Membership?
    /// Receives a line for every notable event when set.
    public var trace: ((String) -> Void)?
    /// The slot active after the last step that had one.
    public private(set) var lastActiveSlot: Int?
    /// Called with (slot, realUs) whenever a member is seen active after a step.
    var onActive: ((Int, Int) -> Void)?
    var messagesDelivered = 0
    /// A command whose first commit is watched for (liveness checks).
    public var watchedCommand: [UInt8]?
    /// Set when `watchedCommand` was committed.
    public var watchedCommandCommitted = false
    /// Trace every delivered message too (very verbose).
    public var traceMessages = false

    /// Creates an empty cluster.
    public init(options: Options = Options(), seed: UInt64) {
        self.options = options
        self.tickUs = Double(options.config.tickIntervalMs) * 1_000
        self.random = SplitMix64(seed: seed)
    }

    // MARK: Randomness helpers

    func chance(perMillion: Int) -> Bool {
        perMillion > 0 && Int(random.next() % 1_000_000) < perMillion
    }

    func uniform(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(random.next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    // MARK: Building

    /// Adds a member to the simulation without starting it. `bootstrap` members start knowing
    /// `initial` as the membership; others start empty and wait to be added.
    @discardableResult
    func addSimMember(_ member: Member) -> SimMember {
        let drift = options.clockDriftPartsPerMillion
        let ppm = drift > 0 ? uniform(-drift...drift) : 0
        let sim = SimMember(slot: members.count, member: member, rate: 1 + Double(ppm) / 1_000_000,
                            offsetUs: Double(uniform(0...1_000_000)))
        members.append(sim)
        slotByID[member.id] = sim.slot
        if Int(member.id.rawValue) < slotByRawID.count { slotByRawID[Int(member.id.rawValue)] = sim.slot }
        return sim
    }

    /// Adds `member` to the simulation (not started); returns its slot.
    public func add(_ member: Member) -> Int { addSimMember(member).slot }

    /// Starts `slot` for the first time with `initial` as its membership (empty to join later).
    public func start(_ slot: Int, initial: [Member]) { startFresh(slot, initial: initial) }

    /// Starts `slot` fresh with `initial` as its membership (empty to join later).
    func startFresh(_ slot: Int, initial: [Member]) {
        let sim = members[slot]
        if committedMembership == nil && !initial.isEmpty { committedMembership = Membership(initial) }
        let node = Node.bootstrap(id: sim.member.id, members: initial, config: options.config,
                                  random: SplitMix64(seed: random.next()))
        launch(sim, node)
    }

    /// Restarts a crashed member from its disk.
    public func restart(_ slot: Int) {
        let sim = members[slot]
        guard sim.node == nil, !sim.removed else { return }
        let persisted = PersistentState(hardState: sim.disk.hardState, snapshot: sim.disk.snapshot,
                                        entries: sim.disk.entries)
        let node = Node(id: sim.member.id, config: options.config, persisted: persisted,
                        random: SplitMix64(seed: random.next()))
        note("restart \(sim.member.id)")
        launch(sim, node)
    }

    private func launch(_ sim: SimMember, _ node: Node) {
        sim.incarnation += 1
        sim.node = node
        sim.pausedUntilUs = nil
        sim.backlog = []
        sim.startLocalUs = sim.localUs(atRealUs: nowUs)
        sim.scheduledTickTarget = Int.max
        // A new engine starts publishing from nothing; its web app kept the old publication.
        var lease = LeasePublication(startNanoseconds: UInt64(sim.startLocalUs * 1_000), tickNanoseconds: UInt64(tickUs * 1_000),
                                     order: options.publication)
        if let previous = sim.lease { lease.inherit(publishedDeadlineNanoseconds: previous.publishedDeadlineNanoseconds) }
        sim.lease = lease
        restoreApplication(sim, from: sim.disk.snapshot)
        handle(sim, node.ready())
        scheduleTick(sim, force: true)
        schedulePublication(sim)
    }

    // MARK: Clocks

    /// The tick `slot`'s clock reads at real time `realUs` (its core counts from 0 at start).
    func localTick(_ sim: SimMember, atRealUs realUs: Int) -> Tick {
        Int(((sim.localUs(atRealUs: realUs) - sim.startLocalUs) / tickUs).rounded(.down))
    }

    /// Schedules the next tick event at the core's next deadline (ticks in between would only
    /// advance its clock; deliveries catch the clock up first), unless one is already due earlier.
    func scheduleTick(_ sim: SimMember, force: Bool = false) {
        guard let node = sim.node else { return }
        let target = options.lazyTicks ? node.nextDeadlineTick : node.now + 1
        if !force && target >= sim.scheduledTickTarget { return }
        sim.scheduledTickTarget = target
        let localTarget = sim.startLocalUs + Double(target) * tickUs
        var realUs = Int(((localTarget - sim.offsetUs) / sim.rate).rounded(.up))
        while localTick(sim, atRealUs: realUs) < target { realUs += 1 }
        queue.push(.tick(slot: sim.slot, incarnation: sim.incarnation, target: target), at: max(realUs, nowUs))
    }

    // MARK: The publish path

    /// The next periodic publication: the engine publishes on its clock's wakes (at most 100 ms
    /// apart) once the interval has passed. The wake's lateness differs by member, and draws
    /// nothing from the schedule's randomness (the golden scenarios stay as they were).
    func schedulePublication(_ sim: SimMember) {
        let intervalUs = Int(LeasePublication.publishIntervalNanoseconds / 1_000)
        let lateUs = (sim.slot * 3_719 + sim.incarnation * 1_237) % 10_000
        queue.push(.publish(slot: sim.slot, incarnation: sim.incarnation), at: nowUs + intervalUs + lateUs)
    }

    /// The local clock of `sim` in nanoseconds, as its engine and web app read it.
    func localNanoseconds(_ sim: SimMember, atRealUs realUs: Int? = nil) -> UInt64 {
        UInt64(max(0, sim.localUs(atRealUs: realUs ?? nowUs) * 1_000))
    }

    /// The engine of `sim` publishes its role and lease: active when its core is active and its
    /// lease holds, as `Coordinator.roleName` decides.
    func publish(_ sim: SimMember) {
        guard let node = sim.node, var lease = sim.lease else { return }
        let now = localNanoseconds(sim)
        let active = lease.holds(coreActive: node.isActive(atTick: localTick(sim, atRealUs: nowUs)), now: now)
        lease.published(active: active, now: now)
        sim.lease = lease
        if trace != nil {
            note("\(sim.member.id) publishes " + (active ? "active until \(formatMs(Int(Double(lease.publishedDeadlineNanoseconds) / 1_000 - sim.offsetUs)))" : "not active"))
        }
        if active { checkWebApps(newlyActive: sim) }
    }

    /// True when `slot`'s web app answers as the active manager at real time `realUs`: the last
    /// publication of its engine (crashed or not) says active until a deadline not yet passed.
    public func webAppActive(_ slot: Int, atRealUs realUs: Int? = nil) -> Bool {
        let sim = members[slot]
        guard let lease = sim.lease else { return false }
        return lease.webAppAnswersAsActive(now: localNanoseconds(sim, atRealUs: realUs))
    }

    /// A web app starts answering as active only at a publication, so checking there finds every
    /// overlap of two web apps' answering periods.
    func checkWebApps(newlyActive sim: SimMember) {
        for other in members where other.slot != sim.slot && webAppActive(other.slot) {
            violation("two web apps answer as the active manager at once: \(sim.member.id) and \(other.member.id)")
        }
    }

    /// True when `slot` counts as the active manager at real time `realUs`: its core says so at
    /// its clock's tick, or a crashed incarnation's published lease has not run out.
    public func isActive(_ slot: Int, atRealUs realUs: Int? = nil) -> Bool {
        let sim = members[slot]
        let time = realUs ?? nowUs
        if sim.localUs(atRealUs: time) < sim.ghostLeaseEndLocalUs { return true }
        guard let node = sim.node else { return false }
        return node.isActive(atTick: localTick(sim, atRealUs: time))
    }

    /// Slots active now.
    public func activeSlots() -> [Int] { members.indices.filter { isActive($0) } }

    // MARK: Running

    /// Runs `action` at real time `atUs`.
    public func schedule(atUs: Int, _ action: @escaping () -> Void) {
        actions.append(action)
        queue.push(.action(actions.count - 1), at: max(atUs, nowUs))
    }

    /// Runs every event up to and including `untilUs`.
    public func run(untilUs: Int) {
        while let next = queue.nextTime, next <= untilUs {
            processNext()
        }
        nowUs = max(nowUs, untilUs)
    }

    /// Runs until `condition` holds after an event, or `untilUs`; returns the time it first held.
    @discardableResult
    public func run(untilUs: Int, stopWhen condition: () -> Bool) -> Int? {
        if condition() { return nowUs }
        while let next = queue.nextTime, next <= untilUs {
            processNext()
            if condition() { return nowUs }
        }
        nowUs = max(nowUs, untilUs)
        return nil
    }

    func processNext() {
        guard let (time, event) = queue.pop() else { return }
        precondition(time >= nowUs, "simulated time ran backwards")
        nowUs = time
        switch event {
        case let .tick(slot, incarnation, target):
            let sim = members[slot]
            guard sim.incarnation == incarnation, target == sim.scheduledTickTarget, let node = sim.node,
                  !sim.isPaused else { return }
            sim.scheduledTickTarget = Int.max
            catchUp(sim, node)
            scheduleTick(sim)
        case let .deliver(slot, message):
            let sim = members[slot]
            guard let node = sim.node else { return }
            if sim.isPaused {
                if sim.backlog.count < 10_000 { sim.backlog.append(message) }
                return
            }
            catchUp(sim, node)
            messagesDelivered += 1
            if traceMessages { note("deliver \(message) [to: \(node.role) t\(node.term) members \(node.membership.voterIDs) pending \(node.membershipChangePendingForTesting) commit \(node.commitIndex)]") }
            let ready = options.encodeMessages ? node.step(encoded: message.encode()) : node.step(message)
            handle(sim, ready)
        case let .resume(slot, incarnation):
            let sim = members[slot]
            guard sim.incarnation == incarnation, let node = sim.node, sim.isPaused else { return }
            sim.pausedUntilUs = nil
            note("resume \(sim.member.id)")
            // The engine catches up the ticks it missed before it reads its sockets.
            catchUp(sim, node)
            let backlog = sim.backlog
            sim.backlog = []
            for message in backlog where sim.node === node {
                handle(sim, node.step(message))
            }
            scheduleTick(sim, force: true)
        case let .action(index):
            actions[index]()
        case let .publish(slot, incarnation):
            let sim = members[slot]
            guard sim.incarnation == incarnation, let node = sim.node else { return }
            // A paused engine publishes nothing; its web app keeps the last publication.
            if !sim.isPaused, let lease = sim.lease, lease.periodicDue(now: localNanoseconds(sim)) {
                catchUp(sim, node)
                if sim.node === node { publish(sim) }
            }
            if sim.node === node { schedulePublication(sim) }
        case let .publishApplied(slot, incarnation):
            let sim = members[slot]
            guard sim.incarnation == incarnation, let node = sim.node, !sim.isPaused else { return }
            catchUp(sim, node)
            if sim.node === node { publish(sim) }
        }
    }

    /// Brings the core's clock up to the tick its local clock reads now.
    func catchUp(_ sim: SimMember, _ node: Node) {
        let behind = localTick(sim, atRealUs: nowUs) - node.now
        if behind >= 1 { handle(sim, behind == 1 ? node.tick() : node.advance(ticks: behind)) }
    }

    // MARK: Faults

    /// Crashes `slot`: it loses everything it did not persist.
    public func crash(_ slot: Int) {
        let sim = members[slot]
        guard let node = sim.node else { return }
        if node.isActive(atTick: localTick(sim, atRealUs: nowUs)), let deadline = node.leaseDeadline {
            sim.ghostLeaseEndLocalUs = sim.startLocalUs + Double(deadline) * tickUs
        }
        note("crash \(sim.member.id)")
        sim.node = nil
        sim.pausedUntilUs = nil
        sim.backlog = []
        sim.incarnation += 1
    }

    /// Powers off a crashed `slot` (what a fence confirmation asserts): its web app is gone
    /// with it, so a lease it published no longer counts.
    public func powerOff(_ slot: Int) {
        guard members[slot].node == nil else { return }
        members[slot].ghostLeaseEndLocalUs = -1
        members[slot].lease = nil
    }

    /// Pauses `slot` for `durationUs`: its clock runs on, it processes nothing.
    public func pause(_ slot: Int, durationUs: Int) {
        let sim = members[slot]
        guard sim.node != nil, !sim.isPaused else { return }
        note("pause \(sim.member.id) for \(durationUs / 1000)ms")
        sim.pausedUntilUs = nowUs + durationUs
        queue.push(.resume(slot: slot, incarnation: sim.incarnation), at: nowUs + durationUs)
    }

    /// Drops every message from `from` to `to`.
    public func block(from: Int, to: Int) { blockedLinks.insert(from * 256 + to) }

    /// Cuts the cluster in two groups, both directions.
    public func partition(_ group: [Int]) {
        let inside = Set(group)
        for a in members.indices where inside.contains(a) {
            for b in members.indices where !inside.contains(b) {
                block(from: a, to: b)
                block(from: b, to: a)
            }
        }
        note("partition \(group.map { members[$0].member.id }) from the rest")
    }

    /// Restores every link and stops loss, duplication and delay spikes.
    public func heal() {
        blockedLinks.removeAll()
        lossPerMillion = 0
        duplicatePerMillion = 0
        spikePerMillion = 0
        note("heal")
    }

    // MARK: Network

    func send(_ message: Message, from sim: SimMember) {
        let raw = Int(message.to.rawValue)
        let destination = raw < slotByRawID.count ? slotByRawID[raw] : (slotByID[message.to] ?? -1)
        guard destination >= 0 else { return }
        if blockedLinks.contains(sim.slot * 256 + destination) { return }
        if chance(perMillion: lossPerMillion) { return }
        let copies = chance(perMillion: duplicatePerMillion) ? 2 : 1
        for _ in 0..<copies {
            var latency = uniform(0...options.latencyMaxUs)
            if chance(perMillion: spikePerMillion) { latency += uniform(0...spikeMaxUs) }
            queue.push(.deliver(slot: destination, message: message), at: nowUs + latency)
        }
    }

    // MARK: Output handling and checkers

    func violation(_ text: String) {
        if violations.count < 20 { violations.append("t=\(nowUs / 1000)ms \(text)") }
        note("VIOLATION \(text)")
    }

    func note(_ text: @autoclosure () -> String) {
        if let trace { trace("t=\(formatMs(nowUs)) \(text())") }
    }

    func handle(_ sim: SimMember, _ ready: Ready) {
        guard let node = sim.node else { return }
        if let problem = sim.disk.persist(ready) { violation("\(sim.member.id): \(problem)") }
        for change in ready.roleChanges {
            if change.newRole == .leader {
                if let previous = leaderByTerm[change.term], previous != sim.member.id {
                    violation("two leaders in term \(change.term): \(previous) and \(sim.member.id)")
                }
                leaderByTerm[change.term] = sim.member.id
            }
            if trace != nil {
                note("\(sim.member.id) \(change.oldRole) -> \(change.newRole) term \(change.term) leader \(change.leader.map { "\($0)" } ?? "none")"
                     + (change.newRole == .leader ? " members \(node.membership.voterIDs) last \(node.lastIndex) commit \(node.commitIndex)" : ""))
            }
        }
        let publication = sim.lease?.take(ready)
        if publication?.beforeSending == true { publish(sim) }
        if let snapshot = ready.snapshot, ready.snapshotIsFromLeader {
            restoreApplication(sim, from: snapshot)
        }
        for entry in ready.committed { apply(entry, on: sim) }
        for message in ready.messages { send(message, from: sim) }
        // The engine applies the committed entries (SQLite transactions, fsync) after sending,
        // then publishes: up to 30 ms later (drawn from the time, not the schedule's randomness).
        if publication?.afterApplying == true {
            let applyUs = Int(((UInt64(nowUs) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(sim.slot)) >> 33) % 30_000)
            queue.push(.publishApplied(slot: sim.slot, incarnation: sim.incarnation), at: nowUs + applyUs)
        }
        if let wanted = ready.snapshotWanted, wanted <= sim.appliedIndex, sim.node === node {
            let writer = Cluster.applicationSnapshot(index: sim.appliedIndex, hash: sim.appliedHash)
            if let compacted = try? node.compact(upTo: sim.appliedIndex, data: writer) {
                handle(sim, compacted)
            }
        }
        if !sim.isPaused && sim.node === node { scheduleTick(sim) }
        if isActive(sim.slot) {
            lastActiveSlot = sim.slot
            for other in members where other.slot != sim.slot && isActive(other.slot) {
                violation("two active managers at once: \(sim.member.id) and \(other.member.id)")
            }
            onActive?(sim.slot, nowUs)
        }
    }

    /// The simulated application's state at `index`: the index and the hash of the history, then
    /// filler derived from both, of a length that varies with the index (up to about 1 KB), so that
    /// snapshots need several chunks and a misplaced or missing chunk shows.
    static func applicationSnapshot(index: Int, hash: UInt64) -> [UInt8] {
        var bytes = [UInt8]()
        appendUInt64(&bytes, UInt64(index))
        appendUInt64(&bytes, hash)
        for position in 0..<((index * 37) % 1_000) {
            bytes.append(UInt8(truncatingIfNeeded: hash >> UInt64((position % 8) * 8)) ^ UInt8(truncatingIfNeeded: position))
        }
        return bytes
    }

    func restoreApplication(_ sim: SimMember, from snapshot: Snapshot) {
        if snapshot.data.isEmpty {
            sim.appliedIndex = snapshot.index
            sim.appliedHash = 0
            if snapshot.index != 0 { violation("\(sim.member.id): empty snapshot at \(snapshot.index)") }
            return
        }
        guard snapshot.data.count >= 16 else {
            violation("\(sim.member.id): malformed application snapshot")
            return
        }
        let index = Int(readUInt64(snapshot.data, 0))
        let hash = readUInt64(snapshot.data, 8)
        // Snapshots travel in chunks: every byte must arrive, in its place.
        if snapshot.data != Cluster.applicationSnapshot(index: index, hash: hash) {
            violation("\(sim.member.id): snapshot at \(snapshot.index) was assembled wrong (\(snapshot.data.count) bytes)")
        }
        if index != snapshot.index { violation("\(sim.member.id): snapshot data for \(index) at \(snapshot.index)") }
        if index < committedHashes.count, committedHashes[index] != hash {
            violation("\(sim.member.id): snapshot at \(index) disagrees with the committed history")
        }
        sim.appliedIndex = index
        sim.appliedHash = hash
    }

    func apply(_ entry: Entry, on sim: SimMember) {
        guard entry.index == sim.appliedIndex + 1 else {
            violation("\(sim.member.id) applied index \(entry.index) after \(sim.appliedIndex)")
            return
        }
        let hash = Cluster.chain(sim.appliedHash, entry)
        sim.appliedIndex = entry.index
        sim.appliedHash = hash
        if entry.index < committedHashes.count {
            if committedHashes[entry.index] != hash {
                violation("\(sim.member.id) applied a different entry at \(entry.index) (term \(entry.term)): committed history lost, changed or reordered")
            }
        } else if entry.index == committedHashes.count {
            committedHashes.append(hash)
            if entry.kind == .command, let watched = watchedCommand, entry.data == watched { watchedCommandCommitted = true }
            if entry.kind == .membership, let membership = entry.membership { membershipCommitted(membership) }
        } else {
            violation("\(sim.member.id) applied \(entry.index) beyond the known history \(committedHashes.count - 1)")
        }
    }

    /// Stops members that a committed membership removed, as an operator would.
    func membershipCommitted(_ membership: Membership) {
        if let previous = committedMembership {
            for member in previous.members where !membership.contains(member.id) {
                guard let slot = slotByID[member.id] else { continue }
                note("\(member.id) removed; stopping it")
                crash(slot)
                members[slot].removed = true
            }
        }
        committedMembership = membership
    }

    static func chain(_ previous: UInt64, _ entry: Entry) -> UInt64 {
        var hash = previous ^ 0xcbf2_9ce4_8422_2325
        func mix(_ value: UInt64) {
            hash = (hash ^ value) &* 0x0000_0100_0000_01b3
            hash ^= hash >> 29
        }
        mix(UInt64(entry.index))
        mix(UInt64(entry.term))
        mix(UInt64(entry.kind.rawValue))
        for byte in entry.data { mix(UInt64(byte)) }
        return hash
    }

    // MARK: Queries for drivers

    /// The member in `slot`.
    public func member(_ slot: Int) -> Member { members[slot].member }
    /// The number of slots ever used.
    public var slotCount: Int { members.count }
    /// The core in `slot`, if up.
    public func node(_ slot: Int) -> Node? { members[slot].node }
    /// True when `slot` is up.
    public func isUp(_ slot: Int) -> Bool { members[slot].isUp }
    /// True when `slot` is paused.
    public func isPaused(_ slot: Int) -> Bool { members[slot].isPaused }
    /// True when `slot` was removed.
    public func isRemoved(_ slot: Int) -> Bool { members[slot].removed }
    /// The slot of `id`.
    public func slot(of id: MemberID) -> Int? { slotByID[id] }
    /// The index applied by `slot`'s application.
    public func appliedIndex(_ slot: Int) -> LogIndex { members[slot].appliedIndex }
    /// The highest index any member applied.
    public var highestCommitted: LogIndex { committedHashes.count - 1 }

    /// The live, unpaused leader with the highest term, if any.
    public func currentLeaderSlot() -> Int? {
        var best: Int?
        var bestTerm = -1
        for sim in members where !sim.isPaused {
            if let node = sim.node, node.role == .leader, node.term > bestTerm {
                best = sim.slot
                bestTerm = node.term
            }
        }
        return best
    }

    /// Proposes `command` at the current leader; returns the index it went to, if accepted.
    @discardableResult
    public func propose(_ command: [UInt8]) -> LogIndex? {
        guard let slot = currentLeaderSlot(), let node = members[slot].node else { return nil }
        guard let ready = try? node.propose(command) else { return nil }
        let index = ready.appended?.index
        handle(members[slot], ready)
        return index
    }

    /// Runs an operator request on `slot`'s core and handles its output.
    public func request(_ slot: Int, _ body: (Node) throws -> Ready) -> Bool {
        guard let node = members[slot].node, !members[slot].isPaused else { return false }
        guard let ready = try? body(node) else { return false }
        handle(members[slot], ready)
        return true
    }
}

func appendUInt64(_ bytes: inout [UInt8], _ value: UInt64) {
    for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
}

func readUInt64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
    var value: UInt64 = 0
    for index in offset..<offset + 8 { value = value << 8 | UInt64(bytes[index]) }
    return value
}

/// Formats microseconds as milliseconds with one decimal.
func formatMs(_ us: Int) -> String {
    let tenths = us / 100
    return "\(tenths / 10).\(tenths % 10)ms"
}
