import Config
import Consensus
import Control
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Metrics
import Model
import NIOCore
import NIOPosix
import Plumbing
import Store
import Transport

/// Wires the blade engine to its event loop: the coordinator (election and replication), sampling
/// timers per group, the publish, report and prune timers, the control socket, role hooks, the
/// fence poll, and a graceful stop on SIGTERM or SIGINT.
final class EngineService {
    // The role and lease are published for the web app on the coordinator's wakes every
    // `LeasePublication.publishIntervalNanoseconds` (90 ms, well below the 470 ms lease, so that a
    // healthy active manager's published lease never lapses between two publications), and at
    // once when the lease shrinks (before any message is sent), is gained, or the role changes.
    static let reportCheckIntervalMs: Int64 = 500
    static let pruneIntervalSeconds: Int64 = 60
    /// Minute aggregates trail the samples by at most this (they only show in windows over an hour).
    static let aggregateIntervalSeconds: Int64 = 10
    /// How often a blade checks its certificate (and the active manager that the chassis has an
    /// authority): a new authority is acted on at once, this only catches renewals and failures.
    static let certificateCheckIntervalSeconds: Int64 = 30
    /// How often the active manager looks for notifications to send besides right after a change.
    static let notifyIntervalMs: Int64 = 500

    let config: BladeConfig
    let logger: Logger
    let witness: Bool
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var loop: EventLoop { group.next() }
    private let store: StoreWriter
    /// The cluster key (nil: a chassis of one blade without one).
    private let key: [UInt8]?
    private let engine: BladeEngine
    private let coordinator: Coordinator
    private let hooks: HookRunner
    private var housekeeping: [RepeatedTask] = []
    private let control: ControlServer
    private var signalSources: [DispatchSourceSignal] = []
    /// Signalled by SIGTERM, SIGINT, or the coordinator's failure.
    private let stopped = DispatchSemaphore(value: 0)
    /// Why the engine stops, when it is not asked to.
    private var failure: Coordinator.Failure?
    /// systemd's notification socket, when started by systemd with `Type=notify`.
    private let notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment)

    /// Opens the store and builds the coordinator and the engine (on the loop, which owns them);
    /// `run` wires and starts them.
    /// Every reading of the time, handed to each service the engine starts.
    let clock: HostClock

    /// A graceful stop hands over and waits (at most 300 ms) for the `roleChanged` event that
    /// names another leader, so that the hand-over's message leaves before the transport closes.
    private var awaitingHandOver = false
    private let handedOver = DispatchSemaphore(value: 0)

    init(config: BladeConfig, witness: Bool, logger: Logger, clock: HostClock = .system) throws {
        self.clock = clock
        self.config = config
        self.witness = witness
        self.logger = logger
        control = ControlServer(path: config.paths.controlSocket)
        try FileManager.default.createDirectory(atPath: config.paths.runtimeDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: config.paths.stateDir, withIntermediateDirectories: true)
        let key = try config.cluster.keyFile.map { try PeerCodec.loadKey(path: $0) }
        try WebKeyFile.write(config: config, clusterKey: key)
        try SiteKeyFile.write(config: config)
        let store = try StoreWriter(configDatabase: config.paths.configDatabase, metricsDatabase: config.paths.metricsDatabase)
        if let reason = store.rebuiltMetrics {
            logger.warning("the metrics database did not open or check: set aside as metrics.db.broken and started anew",
                           metadata: ["error": "\(reason)"])
        }
        let collectors = witness ? nil : EngineCollectors.make(config: config, clock: clock)
        for problem in collectors?.setupErrors ?? [] {
            logger.warning("collector setup", metadata: ["problem": "\(problem)"])
        }
        let loop = group.next()
        let (coordinator, engine) = try loop.submit {
            let coordinator = try Coordinator(config: config, store: store, key: key, witness: witness, loop: loop, logger: logger,
                                              clock: clock)
            let engine = try BladeEngine(config: config, store: store, coordinator: coordinator, collectors: collectors, logger: logger)
            return (coordinator, engine)
        }.wait()
        (self.store, self.key, self.coordinator, self.engine) = (store, key, coordinator, engine)
        hooks = HookRunner(config: config, logger: logger, clock: clock)
    }

    func run() throws {
        let (store, key, coordinator, engine, clock) = (self.store, self.key, self.coordinator, self.engine, self.clock)
        try loop.submit {
            coordinator.apply = { [unowned engine] command, index in try engine.apply(command, index: index) }
            let logger = self.logger
            var checkCertificates: (() -> Void)?
            if !self.witness {
                let notifications = NotificationService(
                    config: self.config, store: store, rootSecret: try WebKeyFile.rootSecret(config: self.config, clusterKey: key),
                    loop: self.loop, logger: self.logger, clock: self.clock)
                notifications.isActive = { [unowned coordinator] in coordinator.isActive }
                notifications.propose = { [unowned coordinator] command, completion in coordinator.propose(command, completion: completion) }
                engine.notifications = notifications
                engine.eventsChanged = { [unowned self] in
                    self.loop.execute { notifications.tick(now: clock.wallSeconds()) }
                }
                self.housekeeping.append(self.loop.scheduleRepeatedTask(
                    initialDelay: .milliseconds(Self.notifyIntervalMs), delay: .milliseconds(Self.notifyIntervalMs)) { _ in
                    notifications.tick(now: clock.wallSeconds())
                })
                let power = PowerService(config: self.config, unfinished: { [unowned engine] in engine.powerBySlot.values.flatMap(\.pending) },
                                         coordinator: coordinator, loop: self.loop, logger: self.logger, clock: self.clock)
                engine.powerChanged = { [unowned self] in self.loop.execute { power.pass(now: clock.wallSeconds()) } }
                self.housekeeping.append(self.loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                    power.pass(now: clock.wallSeconds())
                })
            }
            engine.reschedule = { [unowned self] _ in self.scheduleSampling(after: clock.wallSeconds()) }
            if !self.witness {
                let certificates = CertificateService(config: self.config, store: store, loop: self.loop, logger: self.logger,
                                                      clock: self.clock)
                let check = { [unowned coordinator] in
                    certificates.check(isActive: coordinator.isActive, now: clock.wallSeconds(),
                                       propose: { command, completion in coordinator.propose(command, completion: completion) })
                }
                engine.certificatesChanged = { self.loop.execute { check() } }
                checkCertificates = check
                check()
                self.housekeeping.append(self.loop.scheduleRepeatedTask(
                    initialDelay: .seconds(1), delay: .seconds(Self.certificateCheckIntervalSeconds)) { _ in check() })
            }
            // What the coordinator tells, one way, in the order it happened.
            coordinator.events = { [unowned self, unowned engine, unowned coordinator] event in
                switch event {
                case .failed(let failure):
                    self.failure = failure
                    self.stopped.signal()
                case .restored:
                    do { try engine.reloadConfiguration() } catch { logger.error("reload failed", metadata: ["error": "\(error)"]) }
                    engine.notifications?.reload()
                case .publishNow:
                    // A change of role is published at once, and its hook runs at once too (not
                    // at the next periodic publication, up to 90 ms later).
                    self.hooks.observe(engine.publish(now: clock.wallSeconds()))
                case .roleChanged(let change):
                    engine.sendFullBatchesNext()
                    // A graceful stop waits for this: another blade leads.
                    if self.awaitingHandOver, let leader = change.leader, leader != coordinator.me {
                        self.awaitingHandOver = false
                        self.handedOver.signal()
                    }
                    // A new active manager creates the chassis' authority at once if there is none.
                    if let checkCertificates { self.loop.execute { checkCertificates() } }
                case .membersChanged:
                    engine.sendFullBatchesNext()
                case .metricsReceived(let sender, let batch):
                    engine.received(batch, from: sender, now: clock.wallSeconds())
                case .clockWoke:
                    guard coordinator.lease.periodicDue(now: clock.monotonicNanoseconds()) else { return }
                    self.hooks.observe(engine.publish(now: clock.wallSeconds()))
                    self.notifyState()
                }
            }
            try coordinator.start()
            let now = clock.wallSeconds()
            engine.publish(now: now)
            engine.sample(engine.activeGroups, now: now)
            self.scheduleSampling(after: now)
            if let interval = self.notifier?.watchdogIntervalMs {
                // From the event loop: a loop that hangs stops the pings, and systemd restarts the engine.
                self.housekeeping.append(self.loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(interval)) { _ in
                    self.notifier?.watchdog()
                })
            }
            self.housekeeping.append(self.loop.scheduleRepeatedTask(
                initialDelay: .milliseconds(Self.reportCheckIntervalMs), delay: .milliseconds(Self.reportCheckIntervalMs)) { _ in
                let now = clock.wallSeconds()
                engine.flushReplicated(now: now)
                engine.checkReports(now: now)
            })
            self.housekeeping.append(self.loop.scheduleRepeatedTask(
                initialDelay: .seconds(Self.aggregateIntervalSeconds), delay: .seconds(Self.aggregateIntervalSeconds)) { _ in
                engine.aggregateMinutes()
            })
            self.housekeeping.append(self.loop.scheduleRepeatedTask(initialDelay: .seconds(2), delay: .seconds(5)) { _ in
                engine.recordCounters(now: clock.wallSeconds())
                if !self.witness { engine.createFirstAdministrator(now: clock.wallSeconds()) }
            })
            self.housekeeping.append(self.loop.scheduleRepeatedTask(
                initialDelay: .seconds(5), delay: .seconds(Self.pruneIntervalSeconds)) { _ in
                engine.prune(now: clock.wallSeconds())
            })
            if let command = self.config.cluster.fenceCommand {
                let poll = Int64(self.config.cluster.fencePollMs)
                self.housekeeping.append(self.loop.scheduleRepeatedTask(initialDelay: .milliseconds(poll),
                                                                        delay: .milliseconds(poll)) { _ in
                    self.pollFence(command)
                })
            }
        }.wait()

        try coordinator.transport?.start()
        try control.start(group: group) { [unowned self] request, actor, reply in
            self.engine.handle(request, actor: actor, now: clock.wallSeconds(), reply: reply)
        }
        logger.notice("engine started", metadata: [
            "address": "\(config.blade.address)", "slot": "\(config.blade.slot)", "witness": "\(witness)",
            "members": "\(Coordinator.members(of: config).count)", "control": "\(config.paths.controlSocket)",
            "collectors": "\(engine.collectors?.collectors.count ?? 0)", "simulated": "\(config.hardware.simulatedDir ?? "no")",
        ])

        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        for number in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [stopped] in stopped.signal() }
            source.resume()
            signalSources.append(source)
        }
        stopped.wait()
        logger.notice("stopping")
        notifier?.stopping()
        control.stop()
        let failure = try? loop.submit { self.failure }.wait()
        if failure == nil {
            // A graceful stop hands over first, so that the chassis does not wait for a timeout,
            // and waits (at most 300 ms) until another blade leads, so that the hand-over's
            // message is sent before the transport closes.
            let handing = (try? loop.submit { () -> Bool in
                guard self.coordinator.isActive, self.coordinator.handOver(to: nil).ok else { return false }
                self.awaitingHandOver = true
                return true
            }.wait()) ?? false
            if handing { _ = handedOver.wait(timeout: .now() + .milliseconds(300)) }
        }
        try? loop.submit {
            self.samplingTask?.cancel()
            for task in self.housekeeping { task.cancel() }
            self.coordinator.stop()
        }.wait()
        try? group.syncShutdownGracefully()
        if let failure = failure ?? nil { throw failure }
        logger.notice("engine stopped")
    }

    /// Tells systemd the engine's state: READY once it has joined the chassis (it knows the
    /// active manager, or is it), and its role or why no manager is active as STATUS.
    private func notifyState() {
        guard let notifier else { return }
        let role = coordinator.roleName
        // Joined: active, or following a leader (a leader whose lease is not valid yet is not).
        let joined = coordinator.isActive || (coordinator.node.role != .leader && coordinator.activeMember != nil)
        let status: String
        if let reason = coordinator.noActiveReason, !coordinator.isActive {
            status = "\(role.rawValue): \(reason)"
        } else if let active = coordinator.activeMember, !coordinator.isActive {
            status = "\(role.rawValue); active manager \(active.member.name) (\(active.member.address))"
        } else {
            status = role.rawValue
        }
        if joined { notifier.ready(status: status) } else { notifier.status("joining: " + status) }
    }

    /// When each group is next due (wall clock), and the one timer that serves them all.
    private var nextDue: [SamplingGroup: Double] = [:]
    private var samplingTask: Scheduled<Void>?

    /// Samples, in one pass, every group due within the next 50 ms, then sleeps until the next
    /// one is due: groups with intervals that are multiples of each other share passes, so a blade
    /// at the default intervals writes its store once a second. Runs on the loop.
    private func scheduleSampling(after now: Double) {
        samplingTask?.cancel()
        for group in engine.activeGroups {
            let interval = Double(engine.intervalsMs[group] ?? group.defaultIntervalMs) / 1000
            let due = nextDue[group] ?? now
            nextDue[group] = due <= now ? now + interval : min(due, now + interval)
        }
        guard let next = nextDue.values.min() else { return }
        let delay = Int64(max(0, (next - clock.wallSeconds()) * 1000))
        samplingTask = loop.scheduleTask(in: .milliseconds(delay)) { [unowned self] in
            let now = clock.wallSeconds()
            let due = self.nextDue.filter { $0.value <= now + 0.05 }.map(\.key)
            for group in due {
                let interval = Double(self.engine.intervalsMs[group] ?? group.defaultIntervalMs) / 1000
                // Keep the cadence: the next time is counted from when it was due, not from now.
                let planned = self.nextDue[group]! + interval
                self.nextDue[group] = planned > now ? planned : now + interval
            }
            self.engine.sample(SamplingGroup.allCases.filter { due.contains($0) }, now: now)
            self.scheduleSampling(after: now)
        }
    }

    /// Runs the fence command off the loop and gives the core its answer: which members are
    /// confirmed powered off.
    private var fenceRunning = false
    /// The fence command runs here, one poll at a time, never on the loop.
    private let fenceQueue = DispatchQueue(label: "chassis.fence")
    private func pollFence(_ command: String) {
        // The fence matters only to a chassis of two voters without a witness.
        guard !fenceRunning, coordinator.node.membership.isTwoBladesWithoutWitness else { return }
        fenceRunning = true
        fenceQueue.async {
            let output = HookRunner.capture(command, timeoutSeconds: 2)
            self.loop.execute {
                self.fenceRunning = false
                guard let output else { return }
                let off = Set(output.split(whereSeparator: \.isNewline).map { $0.trimmedWhitespace })
                for member in Coordinator.members(of: self.config) where member.name != self.config.blade.name {
                    self.coordinator.confirmDown(member.name, down: off.contains(member.name))
                }
            }
        }
    }
}
