import Config
import Consensus
import Control
import Dispatch
import Foundation
import Logging
import Metrics
import Model
import NIOCore
import NIOPosix
import Store
import Transport

/// Wires the blade engine to its event loop: the coordinator (election and replication), sampling
/// timers per group, the publish, report and prune timers, the control socket, role hooks, the
/// fence poll, and a graceful stop on SIGTERM or SIGINT.
final class EngineService {
    /// How often the role and lease are published for the web app. The published deadline is the
    /// one the core computed, so publishing late only makes the web app stop answering earlier.
    static let publishIntervalMs: Int64 = 50
    static let reportCheckIntervalMs: Int64 = 500
    static let pruneIntervalSeconds: Int64 = 60

    let config: BladeConfig
    let logger: Logger
    let witness: Bool
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var loop: EventLoop { group.next() }
    private var engine: BladeEngine!
    private var coordinator: Coordinator!
    private var hooks: HookRunner!
    private var timers: [SamplingGroup: RepeatedTask] = [:]
    private var housekeeping: [RepeatedTask] = []
    private let control: ControlServer
    private var signalSources: [DispatchSourceSignal] = []

    init(config: BladeConfig, witness: Bool, logger: Logger) throws {
        self.config = config
        self.witness = witness
        self.logger = logger
        control = ControlServer(path: config.paths.controlSocket)
    }

    func run() throws {
        try FileManager.default.createDirectory(atPath: config.paths.runtimeDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: config.paths.stateDir, withIntermediateDirectories: true)
        let key = try config.cluster.keyFile.map { try PeerCodec.loadKey(path: $0) }
        let store = try StoreWriter(configDatabase: config.paths.configDatabase, metricsDatabase: config.paths.metricsDatabase)
        let collectors = witness ? nil : EngineCollectors.make(config: config)
        for problem in collectors?.setupErrors ?? [] {
            logger.warning("collector setup", metadata: ["problem": "\(problem)"])
        }
        hooks = HookRunner(config: config, logger: logger)
        try loop.submit {
            let coordinator = try Coordinator(config: self.config, store: store, key: key, witness: self.witness,
                                              loop: self.loop, logger: self.logger)
            let engine = try BladeEngine(config: self.config, store: store, coordinator: coordinator,
                                         collectors: collectors, logger: self.logger)
            self.coordinator = coordinator
            self.engine = engine
            coordinator.apply = { [unowned engine] command, index in try engine.apply(command, index: index) }
            let logger = self.logger
            coordinator.restored = { [unowned engine] in
                do { try engine.reloadConfiguration() } catch { logger.error("reload failed", metadata: ["error": "\(error)"]) }
            }
            coordinator.leaseReduced = { [unowned engine] in engine.publish(now: StoreReader.wallClock()) }
            coordinator.membersChanged = { [unowned engine] in engine.sendFullBatchesNext() }
            coordinator.roleChanged = { [unowned engine] _ in engine.sendFullBatchesNext() }
            coordinator.metricsReceived = { [unowned engine] sender, batch in
                engine.received(batch, from: sender, now: StoreReader.wallClock())
            }
            engine.reschedule = { [unowned self] group in self.schedule(group) }
            try coordinator.start()
            let now = StoreReader.wallClock()
            engine.publish(now: now)
            for group in engine.activeGroups {
                engine.sample(group, now: now)
                self.schedule(group)
            }
            self.housekeeping.append(self.loop.scheduleRepeatedTask(
                initialDelay: .milliseconds(Self.publishIntervalMs), delay: .milliseconds(Self.publishIntervalMs)) { _ in
                engine.publish(now: StoreReader.wallClock())
                self.hooks.observe(coordinator.engineState())
            })
            self.housekeeping.append(self.loop.scheduleRepeatedTask(
                initialDelay: .milliseconds(Self.reportCheckIntervalMs), delay: .milliseconds(Self.reportCheckIntervalMs)) { _ in
                engine.checkReports(now: StoreReader.wallClock())
            })
            self.housekeeping.append(self.loop.scheduleRepeatedTask(initialDelay: .seconds(2), delay: .seconds(5)) { _ in
                engine.recordCounters(now: StoreReader.wallClock())
            })
            self.housekeeping.append(self.loop.scheduleRepeatedTask(
                initialDelay: .seconds(5), delay: .seconds(Self.pruneIntervalSeconds)) { _ in
                engine.prune(now: StoreReader.wallClock())
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
        try control.start(group: group) { [unowned self] request, reply in
            self.engine.handle(request, now: StoreReader.wallClock(), reply: reply)
        }
        logger.notice("engine started", metadata: [
            "address": "\(config.blade.address)", "slot": "\(config.blade.slot)", "witness": "\(witness)",
            "members": "\(Coordinator.members(of: config).count)", "control": "\(config.paths.controlSocket)",
            "collectors": "\(collectors?.collectors.count ?? 0)", "simulated": "\(config.hardware.simulatedDir ?? "no")",
        ])

        let stopped = DispatchSemaphore(value: 0)
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        for number in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stopped.signal() }
            source.resume()
            signalSources.append(source)
        }
        stopped.wait()
        logger.notice("stopping")
        control.stop()
        try? loop.submit {
            // A graceful stop hands over first, so that the chassis does not wait for a timeout.
            if self.coordinator.isActive { _ = self.coordinator.handOver(to: nil) }
        }.wait()
        usleep(150_000)
        try? loop.submit {
            for task in self.timers.values { task.cancel() }
            for task in self.housekeeping { task.cancel() }
            self.coordinator.stop()
        }.wait()
        try? group.syncShutdownGracefully()
        logger.notice("engine stopped")
    }

    /// (Re)starts the timer of one sampling group at its current interval. Runs on the loop.
    private func schedule(_ group: SamplingGroup) {
        timers[group]?.cancel()
        let intervalMs = Int64(engine.intervalsMs[group] ?? group.defaultIntervalMs)
        timers[group] = loop.scheduleRepeatedTask(initialDelay: .milliseconds(intervalMs), delay: .milliseconds(intervalMs)) { _ in
            self.engine.sample(group, now: StoreReader.wallClock())
        }
    }

    /// Runs the fence command off the loop and gives the core its answer: which members are
    /// confirmed powered off.
    private var fenceRunning = false
    private func pollFence(_ command: String) {
        guard !fenceRunning else { return }
        fenceRunning = true
        DispatchQueue.global().async {
            let output = HookRunner.capture(command, timeoutSeconds: 2)
            self.loop.execute {
                self.fenceRunning = false
                guard let output else { return }
                let off = Set(output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
                for member in Coordinator.members(of: self.config) where member.name != self.config.blade.name {
                    self.coordinator.confirmDown(member.name, down: off.contains(member.name))
                }
            }
        }
    }
}
