import Config
import Control
import Dispatch
import Foundation
import Logging
import Metrics
import Model
import NIOCore
import NIOPosix
import Store

/// Wires the blade engine to its event loop: sampling timers per group, the publish and prune
/// timers, the control socket, and a graceful stop on SIGTERM or SIGINT.
final class EngineService {
    /// How often the role and lease are published, and how long one publish keeps the lease.
    static let publishIntervalMs = 250
    static let leaseDurationMs = 1_000
    static let pruneIntervalSeconds: Int64 = 60

    let config: BladeConfig
    let logger: Logger
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var loop: EventLoop { group.next() }
    private var engine: BladeEngine!
    private var timers: [SamplingGroup: RepeatedTask] = [:]
    private var housekeeping: [RepeatedTask] = []
    private let control: ControlServer
    private var signalSources: [DispatchSourceSignal] = []

    init(config: BladeConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        control = ControlServer(path: config.paths.controlSocket)
    }

    func run() throws {
        try FileManager.default.createDirectory(atPath: config.paths.runtimeDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: config.paths.stateDir, withIntermediateDirectories: true)
        let store = try StoreWriter(configDatabase: config.paths.configDatabase, metricsDatabase: config.paths.metricsDatabase)
        let collectors = EngineCollectors.make(config: config)
        for problem in collectors.setupErrors {
            logger.warning("collector setup", metadata: ["problem": "\(problem)"])
        }
        engine = try loop.submit {
            try BladeEngine(config: self.config, store: store, role: StandaloneRole(leaseDurationMs: Self.leaseDurationMs),
                            collectors: collectors, logger: self.logger)
        }.wait()

        try loop.submit {
            let now = StoreReader.wallClock()
            self.engine.publish(now: now)
            for group in self.engine.activeGroups {
                self.engine.sample(group, now: now)
                self.schedule(group)
            }
            self.housekeeping.append(self.loop.scheduleRepeatedTask(
                initialDelay: .milliseconds(Int64(Self.publishIntervalMs)), delay: .milliseconds(Int64(Self.publishIntervalMs))) { _ in
                self.engine.publish(now: StoreReader.wallClock())
            })
            self.housekeeping.append(self.loop.scheduleRepeatedTask(
                initialDelay: .seconds(5), delay: .seconds(Self.pruneIntervalSeconds)) { _ in
                self.engine.prune(now: StoreReader.wallClock())
            })
        }.wait()

        try control.start(group: group) { [unowned self] request in
            self.engine.handle(request, now: StoreReader.wallClock()) { group in self.schedule(group) }
        }
        logger.notice("engine started", metadata: [
            "address": "\(config.blade.address)", "slot": "\(config.blade.slot)",
            "control": "\(config.paths.controlSocket)", "collectors": "\(collectors.collectors.count)",
            "simulated": "\(config.hardware.simulatedDir ?? "no")",
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
            for task in self.timers.values { task.cancel() }
            for task in self.housekeeping { task.cancel() }
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
}
