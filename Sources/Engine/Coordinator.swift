import Config
import Consensus
import EngineCore
import Control
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Model
import NIOCore
import Store
import Transport
import Plumbing

/// Drives the pure `Consensus` core with real time and a real network: ticks from the host's
/// monotonic clock, messages over the authenticated transport, its state persisted (fsynced)
/// before anything of a `Ready` is sent, committed commands applied to the store. Confined to the
/// engine's event loop.
final class Coordinator {
    /// What travels in a transport frame's payload, after a one-byte kind.
    enum PayloadKind: UInt8 {
        case consensus = 1
        case metrics = 2
    }

    struct Peer {
        var member: BladeConfig.Member
        var id: MemberID
    }

    let config: BladeConfig
    let store: StoreWriter
    let logger: Logger
    let loop: EventLoop
    let node: Node
    let me: MemberID
    let isWitness: Bool
    private(set) var transport: PeerTransport?
    /// How to reach each member: the configuration file's list, and members added at run time.
    private var peersByID: [MemberID: Peer]
    private var idsByName: [String: MemberID]
    let consensusConfig: Consensus.Config
    private var tickNanoseconds: UInt64 { lease.tickNanoseconds }
    private var startNanoseconds: UInt64 { lease.startNanoseconds }
    /// The next wake of the clock, and when it is due (monotonic nanoseconds).
    private var wakeTask: Scheduled<Void>?
    private var wakeAtNanoseconds: UInt64 = .max
    private var running = false
    /// The core's lease on the host's monotonic clock, and what of it was published for the web
    /// app (`LeasePublication`, the same code the simulator runs).
    private(set) var lease: LeasePublication
    var leaseDeadlineNanoseconds: UInt64 { lease.deadlineNanoseconds }
    private(set) var noActiveReason: NoActiveReason?
    private(set) var appliedIndex: Int
    private var pending: [Int: PendingProposal] = [:]
    /// Called with each committed command, inside the transaction that records it as applied.
    var apply: (ClusterCommand, Int) throws -> ControlResponse = { _, _ in ControlResponse(ok: true) }
    /// What the coordinator tells the engine, one way (it never waits for an answer), in the
    /// order it happened. `apply` is the one call it makes and waits for: the state machine.
    enum Event {
        /// The coordinator failed (it stopped); the engine stops, and `main` exits 70.
        case failed(Failure)
        /// The configuration was replaced by a snapshot from the leader.
        case restored
        /// Publish role and lease now: before anything of the `Ready` is sent when this blade's
        /// lease shrank or ended (so that its web app stops answering as active before a successor
        /// can be elected), and after it was applied when the lease was gained or the role changed
        /// (`LeasePublication`).
        case publishNow
        /// A change of role or leader, after it was logged.
        case roleChanged(RoleChange)
        /// A member was added or removed.
        case membersChanged
        /// Another blade's metrics batch.
        case metricsReceived(sender: String, batch: MetricsBatch)
        /// The clock woke (at least every `wakeIntervalMaxMs`): the engine publishes on some wakes.
        case clockWoke
    }

    var events: (Event) -> Void = { _ in }
    private let decoder = JSONDecoder()
    private let encoder = JSONEncoder()
    /// Malformed payloads from authenticated peers (a version mismatch, a bug), for `/metrics`.
    private(set) var malformedPayloads = 0

    struct PendingProposal {
        var term: Int
        var deadlineNanoseconds: UInt64
        var completion: (ControlResponse) -> Void
    }

    /// The clock wakes at the core's next deadline (a heartbeat due, the end of an election
    /// timeout or of a hand-over) and at least this often (the engine publishes its state and
    /// times proposals out on wakes). It also advances before every message received. A fixed
    /// 50 ms wake (NIO's timer work) was about a tenth of an idle engine's CPU time in perf, and most
    /// of its wakes found nothing due.
    static let wakeIntervalMaxMs = 100

    /// How long a proposal may wait for its commit before the caller is told to retry.
    static let proposalTimeoutNanoseconds: UInt64 = 5_000_000_000

    /// The member identity of a configured member: its slot, or 100 plus its position for a
    /// member without a slot (a witness).
    static func memberID(_ member: BladeConfig.Member, position: Int) -> MemberID {
        MemberID(UInt32(member.id ?? member.slot ?? (100 + position)))
    }

    /// The members of the election: the configured list, or this blade alone.
    static func members(of config: BladeConfig) -> [BladeConfig.Member] {
        if config.members.isEmpty {
            return [BladeConfig.Member(name: config.blade.name, address: config.blade.address, slot: config.blade.slot,
                                       priority: nil, witness: false, port: 7400)]
        }
        return config.members
    }

    /// Every reading of the time (the core's ticks, the lease, proposals' deadlines, last-heard times).
    let clock: HostClock

    init(config: BladeConfig, store: StoreWriter, key: [UInt8]?, witness: Bool, loop: EventLoop, logger: Logger,
         clock: HostClock = .system) throws {
        self.clock = clock
        self.config = config
        self.store = store
        self.logger = logger
        self.loop = loop
        self.isWitness = witness
        let members = Self.members(of: config)
        var peers: [MemberID: Peer] = [:]
        var ids: [String: MemberID] = [:]
        for (position, member) in members.enumerated() {
            let id = Self.memberID(member, position: position)
            peers[id] = Peer(member: member, id: id)
            ids[member.name] = id
        }
        guard let myID = ids[config.blade.name] else {
            throw EngineError("blade '\(config.blade.name)' is not in the [[member]] list of \(config.file)")
        }
        me = myID
        peersByID = peers
        idsByName = ids
        // The engine's heartbeat interval and preference stagger (see `Config.engine`).
        consensusConfig = Consensus.Config.engine
        lease = LeasePublication(startNanoseconds: clock.monotonicNanoseconds(),
                                 tickNanoseconds: UInt64(consensusConfig.tickIntervalMs) * 1_000_000)

        let records = try store.loadConsensus()
        let limits = consensusConfig.limits
        var generator = SystemRandomNumberGenerator()
        if let snapshotBytes = records.snapshot {
            let snapshot = try Snapshot.decode(snapshotBytes, limits: limits)
            let hardState = try records.hardState.map { try HardState.decode($0) } ?? HardState()
            let entries = try records.entries.map { try Entry.decode($0, limits: limits) }
            node = Node(id: myID, config: consensusConfig,
                        persisted: PersistentState(hardState: hardState, snapshot: snapshot, entries: entries),
                        random: generator)
            logger.notice("consensus restored", metadata: ["term": "\(hardState.term)", "entries": "\(entries.count)",
                                                           "snapshot": "\(snapshot.index)"])
        } else {
            let coreMembers = members.enumerated().map { position, member in
                Member(id: Self.memberID(member, position: position), address: member.address, priority: member.priority,
                       isWitness: member.witness)
            }
            // A joining blade starts with no membership: the active manager adds it.
            node = Node.bootstrap(id: myID, members: config.cluster.join ? [] : coreMembers, config: consensusConfig,
                                  random: generator)
        }
        _ = generator.next()
        appliedIndex = try store.appliedIndex()
        if members.count > 1 && key == nil {
            throw EngineError("a chassis of \(members.count) members needs a cluster key: set [cluster] key_file in \(config.file)")
        }
        self.key = key
        refreshEndpoints()
    }

    private let key: [UInt8]?

    /// Rebuilds the members' endpoints from the configuration file and the replicated records
    /// (which win), and tells the transport.
    func refreshEndpoints() {
        let members = Self.members(of: config)
        var peers: [MemberID: Peer] = [:]
        for (position, member) in members.enumerated() {
            let id = Self.memberID(member, position: position)
            peers[id] = Peer(member: member, id: id)
        }
        for record in (try? store.memberRecords()) ?? [] {
            let id = MemberID(record.memberID)
            for (existing, peer) in peers where peer.member.name == record.name || peer.member.address == record.address {
                peers.removeValue(forKey: existing)
            }
            peers[id] = Peer(member: BladeConfig.Member(name: record.name, address: record.address, slot: record.slotID,
                                                        priority: record.priority, witness: record.witness, port: record.port),
                             id: id)
        }
        let changed = Set(peers.values.map(\.member.name)) != Set(peersByID.values.map(\.member.name))
        peersByID = peers
        if changed { events(.membersChanged) }
        idsByName = Dictionary(peers.map { ($0.value.member.name, $0.key) }, uniquingKeysWith: { first, _ in first })
        transport?.setPeers(peers.values.map { PeerEndpoint(name: $0.member.name, host: $0.member.address, port: $0.member.port) })
    }

    /// A member identity for a member added at run time: its slot, or the next free one above 100.
    func newMemberID(slot: Int?) -> UInt32 {
        if let slot { return UInt32(slot) }
        let used = Set(peersByID.keys.map(\.rawValue))
        return (100...200).map(UInt32.init).first { !used.contains($0) } ?? 201
    }

    /// On the active manager, after the member's endpoint committed: the core's membership change.
    func addToMembership(name: String) -> ControlResponse {
        guard let id = idsByName[name], let peer = peersByID[id] else { return .failure("no member named \(name)", code: 404) }
        do {
            handle(try node.addMember(Member(id: id, address: peer.member.address, priority: peer.member.priority,
                                             isWitness: peer.member.witness)))
            logger.notice("member added", metadata: ["member": "\(name)", "address": "\(peer.member.address)"])
            return ControlResponse(ok: true)
        } catch {
            return .failure(describe(error), code: 409)
        }
    }

    /// On the active manager: the core's membership change removing a member.
    func removeFromMembership(name: String) -> ControlResponse {
        guard let id = idsByName[name] else { return .failure("no member named \(name)", code: 404) }
        do {
            handle(try node.removeMember(id))
            logger.notice("member removed", metadata: ["member": "\(name)"])
            return ControlResponse(ok: true)
        } catch {
            return .failure(describe(error), code: 409)
        }
    }

    private func makeTransport() -> PeerTransport? {
        let members = Self.members(of: config)
        guard let key, members.count > 1, let mine = members.first(where: { $0.name == config.blade.name }) else { return nil }
        let endpoints = members.map { PeerEndpoint(name: $0.name, host: $0.address, port: $0.port) }
        return PeerTransport(localName: config.blade.name, localHost: mine.address, port: mine.port, key: key,
                             peers: endpoints, loop: loop) { [weak self] sender, payload in
            self?.received(from: sender, payload: payload)
        }
    }

    func start() throws {
        loop.preconditionInEventLoop()
        // The transport's listener is started by the caller, off the loop (binding waits).
        transport = makeTransport()
        refreshEndpoints()
        running = true
        // The core counts 10 ms ticks; the engine hands it every tick due at once when it wakes.
        handle(node.ready())
        scheduleWake()
    }

    /// Makes sure the clock wakes by the core's next deadline, and within `wakeIntervalMaxMs`.
    /// Cheap when a wake at least as early is already scheduled (the common case after a message).
    private func scheduleWake() {
        guard running else { return }
        let now = clock.monotonicNanoseconds()
        let deadline = startNanoseconds + UInt64(max(0, node.nextDeadlineTick)) * tickNanoseconds
        let wanted = min(deadline, now + UInt64(Self.wakeIntervalMaxMs) * 1_000_000)
        if wakeTask != nil, wakeAtNanoseconds <= wanted { return }
        wakeTask?.cancel()
        wakeAtNanoseconds = wanted
        wakeTask = loop.scheduleTask(in: .nanoseconds(Int64(wanted > now ? wanted - now : 0))) { [weak self] in
            self?.woke()
        }
    }

    private func woke() {
        wakeTask = nil
        wakeAtNanoseconds = .max
        advanceClock()
        events(.clockWoke)
        scheduleWake()
    }

    func stop() {
        running = false
        wakeTask?.cancel()
        wakeTask = nil
        transport?.stop()
        for (_, proposal) in pending { proposal.completion(.failure("the engine is stopping", code: 503)) }
        pending.removeAll()
    }

    /// Ticks the core up to the monotonic clock. After a pause (SIGSTOP, a stall) this delivers
    /// every missed tick at once, so that an old lease is seen to have expired before anything else.
    private func advanceClock() {
        let elapsed = clock.monotonicNanoseconds() - startNanoseconds
        let due = Int(elapsed / tickNanoseconds) - node.now
        if due > 0 { handle(node.advance(ticks: due)) }
        expireProposals()
    }

    // MARK: Inputs

    private func received(from sender: String, payload: [UInt8]) {
        guard let kind = payload.first.flatMap(PayloadKind.init(rawValue:)) else {
            malformedPayloads += 1
            return
        }
        switch kind {
        case .consensus:
            // The core must see the time of receipt, not of the last tick: a follower that
            // noted a leader's heartbeat a tick early would end its stickiness window early.
            advanceClock()
            handle(node.step(encoded: Array(payload.dropFirst()), from: idsByName[sender]))
        case .metrics:
            guard let batch = try? MetricsBatch.decode(wire: Array(payload.dropFirst())) else {
                malformedPayloads += 1
                return
            }
            // A blade reports only for its own slot.
            guard let id = idsByName[sender], peersByID[id]?.member.slot == batch.slotID || batch.slotID == 0 else {
                malformedPayloads += 1
                return
            }
            events(.metricsReceived(sender: sender, batch: batch))
        }
    }

    var hasPeers: Bool { transport != nil && node.membership.members.count > 1 }

    /// Sends a metrics batch to every other member (replication: all blades by default).
    func broadcast(_ batch: MetricsBatch) {
        broadcast { _ in batch }
    }

    /// Sends each other blade its own batch (`batchFor` its name; nil sends nothing), for a
    /// replication policy that keeps some groups from some members.
    func broadcast(_ batchFor: (String) -> MetricsBatch?) {
        guard let transport else { return }
        for member in node.membership.members where member.id != me && !member.isWitness {
            guard let peer = peersByID[member.id], let batch = batchFor(peer.member.name) else { continue }
            transport.send([PayloadKind.metrics.rawValue] + batch.wireEncoded(), to: peer.member.name, deferrable: true)
        }
    }

    /// Proposes a command; `completion` runs on the loop once it is committed and applied here,
    /// or with an error (not the active manager, timed out, leadership lost).
    func propose(_ command: ClusterCommand, completion: @escaping (ControlResponse) -> Void) {
        loop.preconditionInEventLoop()
        guard let bytes = try? encoder.encode(command) else {
            completion(.failure("cannot encode the command", code: 500))
            return
        }
        advanceClock()
        do {
            let ready = try node.propose(Array(bytes))
            if let appended = ready.appended {
                pending[appended.index] = PendingProposal(
                    term: appended.term,
                    deadlineNanoseconds: clock.monotonicNanoseconds() + Self.proposalTimeoutNanoseconds,
                    completion: completion)
            }
            handle(ready)
        } catch {
            var response = ControlResponse.failure(describe(error), code: 503)
            response.activeAddress = activeMember?.member.address
            completion(response)
        }
    }

    private func describe(_ error: RequestError) -> String {
        switch error {
        case .notLeader(let leader):
            return "this blade is not the active manager" + (leader.flatMap { peersByID[$0] }.map { "; it is \($0.member.address)" } ?? "")
        default:
            return "the command was refused: \(error)"
        }
    }

    private func expireProposals() {
        guard !pending.isEmpty else { return }
        let now = clock.monotonicNanoseconds()
        for (index, proposal) in pending where proposal.deadlineNanoseconds < now {
            pending.removeValue(forKey: index)
            proposal.completion(.failure("not committed in time (no quorum?); retry", code: 503))
        }
    }

    func handOver(to name: String?) -> ControlResponse {
        let target = name.flatMap { idsByName[$0] }
        if name != nil && target == nil { return .failure("no member named \(name!)", code: 404) }
        do {
            handle(try node.handOver(to: target))
            return ControlResponse(ok: true)
        } catch {
            return .failure(describe(error), code: 409)
        }
    }

    private var fencedNames: Set<String> = []

    /// The fence's answer for one member: powered off (`down`) or not. Only changes reach the core.
    func confirmDown(_ name: String, down: Bool) {
        guard let id = idsByName[name], id != me, fencedNames.contains(name) != down else { return }
        if down { fencedNames.insert(name) } else { fencedNames.remove(name) }
        logger.notice(down ? "fence: member confirmed powered off" : "fence: member powered again", metadata: ["member": "\(name)"])
        handle(down ? node.confirmDown(id) : node.clearDown(id))
    }

    // MARK: Output

    /// Why the coordinator stopped for good: it could not persist, install or apply what the
    /// protocol requires, and going on would break its promises. The service stops the engine
    /// and `main` exits with EX_SOFTWARE (70), for systemd to start it again from its store.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private(set) var failure: Failure?

    private func fail(_ what: String, _ error: Error, metadata: Logger.Metadata = [:]) {
        guard failure == nil else { return }
        let failure = Failure(description: "\(what): \(error)")
        self.failure = failure
        logger.critical("\(what); stopping", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        wakeTask?.cancel()
        events(.failed(failure))
    }

    /// Persist, then send, then apply: the order the core requires. Nothing more happens once
    /// the coordinator has failed.
    private func handle(_ ready: Ready) {
        guard failure == nil else { return }
        do {
            try store.persistConsensus(
                hardState: ready.hardState.map { $0.encode() },
                snapshot: ready.snapshot.map { ($0.index, $0.encode()) },
                truncateFrom: ready.truncateFrom,
                entries: ready.entries.map { ($0.index, $0.encode()) })
        } catch {
            // Sending what could not be persisted would break the protocol's promises: stop.
            return fail("cannot persist consensus state", error)
        }
        if let snapshot = ready.snapshot, ready.snapshotIsFromLeader {
            guard restore(from: snapshot) else { return }
        }
        let publication = lease.take(ready)
        noActiveReason = ready.noActiveReason
        if publication.beforeSending { events(.publishNow) }
        if let transport {
            for message in ready.messages {
                guard let peer = peersByID[message.to] else { continue }
                transport.send([PayloadKind.consensus.rawValue] + message.encode(), to: peer.member.name)
            }
        }
        for entry in ready.committed {
            guard applyCommitted(entry) else { return }
        }
        for change in ready.roleChanges {
            logger.notice("role change", metadata: [
                "from": "\(change.oldRole.rawValue)", "to": "\(change.newRole.rawValue)", "term": "\(change.term)",
                "leader": "\(change.leader.flatMap { peersByID[$0]?.member.name } ?? "none")",
            ])
            events(.roleChanged(change))
        }
        // A new active manager, or a new one to redirect to, is published at once: the failover
        // an operator sees ends when the web apps know.
        if publication.afterApplying { events(.publishNow) }
        if let wanted = ready.snapshotWanted {
            compact(wanted)
        }
        // Whatever the core did may have brought its next deadline forward.
        scheduleWake()
    }

    /// False when the coordinator failed.
    private func restore(from snapshot: Snapshot) -> Bool {
        do {
            let image = try decoder.decode(ConfigurationImage.self, from: Data(snapshot.data))
            try store.install(image, appliedThrough: snapshot.index)
            appliedIndex = snapshot.index
            refreshEndpoints()
            logger.notice("configuration installed from the active manager's snapshot", metadata: ["index": "\(snapshot.index)"])
            events(.restored)
        } catch {
            if snapshot.data.isEmpty {
                appliedIndex = max(appliedIndex, snapshot.index)
                return true
            }
            fail("cannot install snapshot", error)
            return false
        }
        return true
    }

    /// False when the coordinator failed.
    private func applyCommitted(_ entry: Entry) -> Bool {
        guard entry.index > appliedIndex else { return true }
        var response = ControlResponse(ok: true)
        do {
            try store.applying(index: entry.index) {
                if entry.kind == .command, !entry.data.isEmpty {
                    do {
                        let command = try decoder.decode(ClusterCommand.self, from: Data(entry.data))
                        response = try apply(command, entry.index)
                    } catch is DecodingError {
                        // Written by a newer engine: skipped the same way on every blade of this version.
                        response = .failure("unknown command at index \(entry.index)", code: 400)
                        logger.error("cannot decode committed command", metadata: ["index": "\(entry.index)"])
                    }
                }
            }
            appliedIndex = entry.index
        } catch {
            fail("cannot apply committed entry \(entry.index)", error, metadata: ["index": "\(entry.index)"])
            return false
        }
        if let proposal = pending.removeValue(forKey: entry.index) {
            proposal.completion(proposal.term == entry.term ? response
                                : .failure("leadership changed before the command committed; retry", code: 503))
        }
        return true
    }

    /// After a failed compaction, none is tried again before this (doubling from 1 s to a
    /// minute): a configuration the snapshot cannot take must not cost an export on every update.
    private var compactionRetryAt: UInt64 = 0
    private var compactionBackoffMs: UInt64 = 1_000
    static let compactionBackoffMaxMs: UInt64 = 60_000

    private func compact(_ wanted: Int) {
        let index = min(wanted, appliedIndex)
        guard index > node.snapshot.index else { return }
        let now = clock.monotonicNanoseconds()
        guard now >= compactionRetryAt else { return }
        do {
            let data = Array(try encoder.encode(try store.exportConfiguration()))
            handle(try node.compact(upTo: index, data: data))
            compactionBackoffMs = 1_000
        } catch {
            compactionRetryAt = now + compactionBackoffMs * 1_000_000
            logger.error("cannot compact the log", metadata: ["error": "\(error)", "retry_in_ms": "\(compactionBackoffMs)"])
            compactionBackoffMs = min(compactionBackoffMs * 2, Self.compactionBackoffMaxMs)
        }
    }

    // MARK: Views

    var isActive: Bool {
        lease.holds(coreActive: node.isActive(atTick: node.now), now: clock.monotonicNanoseconds())
    }

    var activeMember: Peer? { node.leader.flatMap { peersByID[$0] } }

    /// The blades (not witnesses) of the membership in force, with their configured details.
    var bladeMembers: [BladeConfig.Member] {
        node.membership.members.filter { !$0.isWitness }.compactMap { peersByID[$0.id]?.member }
    }

    func url(of member: BladeConfig.Member) -> String { config.publicURL(address: member.address) }

    /// This blade's role for the web app and the cluster view.
    var roleName: ManagerRole {
        if isWitness { return .witness }
        if node.role == .leader { return isActive ? .active : .candidate }
        if node.role == .candidate || node.role == .preCandidate { return .candidate }
        return .standby
    }

    func engineState() -> StoreWriter.EngineState {
        let status = node.status
        let nowWall = clock.wallSeconds()
        let tickSeconds = Double(consensusConfig.tickIntervalMs) / 1000
        let heardWindow = consensusConfig.electionTimeoutTicks
        var members: [ClusterMember] = []
        for memberStatus in status.members {
            guard let peer = peersByID[memberStatus.member.id] else { continue }
            let heard = memberStatus.lastHeardTick.map { nowWall - Double(status.tick - $0) * tickSeconds }
            let heardRecently = memberStatus.lastHeardTick.map { status.tick - $0 <= heardWindow } ?? false
            let role: ManagerRole
            if memberStatus.member.id == me {
                role = roleName
            } else if peer.member.witness {
                // Only a leader hears from a witness regularly enough to call it down.
                role = status.role == .leader && !heardRecently ? .down : .witness
            } else if status.leader == memberStatus.member.id {
                role = .active
            } else {
                role = heardRecently ? .standby : .down
            }
            members.append(ClusterMember(name: peer.member.name, address: peer.member.address, url: url(of: peer.member),
                                         slotID: peer.member.slot, role: role,
                                         lastHeardAt: memberStatus.member.id == me ? nowWall : heard,
                                         memberID: Int(memberStatus.member.id.rawValue), peerPort: peer.member.port))
        }
        members.sort { ($0.slotID ?? 999, $0.name) < ($1.slotID ?? 999, $1.name) }
        let leader = activeMember
        let activeView = leader.flatMap { peer in members.first { $0.name == peer.member.name } }
        let quorum = noActiveReason == nil || {
            if case .electedNotCommitted = noActiveReason! { return true }
            if case .handingOver = noActiveReason! { return true }
            return false
        }()
        let cluster = ClusterView(term: UInt64(max(0, status.term)), active: activeView, quorum: quorum,
                                  reason: noActiveReason?.description, members: members)
        let role = roleName
        return StoreWriter.EngineState(
            blade: config.blade.name, address: config.blade.address, slotID: config.blade.slot, role: role,
            term: UInt64(max(0, status.term)), activeAddress: leader?.member.address,
            activeURL: leader.map { url(of: $0.member) },
            leaseDeadlineNanoseconds: role == .active ? lease.deadlineNanoseconds : 0, cluster: cluster)
    }

    /// The engine wrote `state` for its web app (the lease board and `engine_state`): the
    /// periodic publication counts from now. Only a real publication may say so: `engineState()`
    /// is also read for other reasons (the power guard, the cluster view), and counting those
    /// starved the periodic publication until the web app's lease ran out.
    func published(_ state: StoreWriter.EngineState) {
        lease.published(active: state.role == .active, now: clock.monotonicNanoseconds())
    }

    var counters: (transport: PeerCounters?, core: Stats, malformedPayloads: Int) {
        (transport?.counters, node.stats, malformedPayloads)
    }
}

struct EngineError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
