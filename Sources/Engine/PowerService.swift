import Config
import Control
import Dispatch
import Logging
import Metrics
import Model
import NIOCore
import Store
import Plumbing

/// Carries out the power and identify actions of the replicated log on the active manager.
///
/// What to do is `PowerPlan`'s decision, from the log alone: an action is recorded as started
/// before its command runs, and its result is recorded after; a new active manager that finds an
/// action started by another runs an idempotent one (on, off, shutdown, identify) again and
/// reports a cycle or reset as interrupted instead of running it twice. Commands run one slot at a
/// time each, off the event loop, bounded by `[chassis] power_timeout_seconds`.
final class PowerService {
    let config: BladeConfig
    /// The unfinished actions of the replicated log, as the engine holds them.
    let unfinished: () -> [PowerActionRecord]
    let coordinator: Coordinator
    let loop: EventLoop
    let logger: Logger
    /// Actions this engine runs now (it recorded them as started).
    private var running: Set<Int64> = []
    /// Results this engine has but could not record yet (it stopped being the active manager
    /// while the command ran): recorded if it becomes the active manager again.
    private var unrecorded: [Int64: (state: PowerActionState, exitStatus: Int?, output: String)] = [:]
    /// Proposals not yet answered, so that none is made twice.
    private var inFlight: Set<Int64> = []
    private var queues: [Int: DispatchQueue] = [:]
    /// Actions that would take the majority away now, and since when this engine holds them back.
    private var blockedSince: [Int64: Double] = [:]
    /// How long an action waits for the members it needs before it fails.
    static let majorityWaitSeconds = 30.0

    private let clock: HostClock

    init(config: BladeConfig, unfinished: @escaping () -> [PowerActionRecord], coordinator: Coordinator, loop: EventLoop,
         logger: Logger, clock: HostClock) {
        self.clock = clock
        self.config = config
        self.unfinished = unfinished
        self.coordinator = coordinator
        self.loop = loop
        self.logger = logger
    }

    /// One pass, on the loop: after an action was asked or finished, on a change of role, and
    /// every second.
    func pass(now: Double) {
        loop.preconditionInEventLoop()
        guard coordinator.isActive else { return }
        // The engine's copy of the log's actions (reloaded as each power command is applied):
        // no store read a second.
        let pending = unfinished()
        let pendingIDs = Set(pending.map(\.id))
        unrecorded = unrecorded.filter { pendingIDs.contains($0.key) }
        blockedSince = blockedSince.filter { pendingIDs.contains($0.key) }
        guard !pending.isEmpty else { return }
        for record in pending where record.startedBy == config.blade.name && !running.contains(record.id) {
            guard let result = unrecorded[record.id], !inFlight.contains(record.id) else { continue }
            finish(record.id, state: result.state, exitStatus: result.exitStatus, output: result.output, now: now)
        }
        let steps = PowerPlan.steps(pending: pending.filter { unrecorded[$0.id] == nil }, me: config.blade.name,
                                    ownSlot: config.blade.slot, running: running, now: now)
        for step in steps {
            switch step {
            case .start(let id, let attempt):
                guard !inFlight.contains(id), let record = pending.first(where: { $0.id == id }) else { continue }
                // Asked while the chassis could spare the blade; checked again now, since a
                // failover (or another blade's death) since then may have taken a member away.
                if let problem = PowerGuard.majorityProblem(members: coordinator.engineState().cluster?.members ?? [],
                                                            slotID: record.slotID, action: record.action,
                                                            fenceConfirms: config.cluster.fenceCommand != nil) {
                    let since = blockedSince[id] ?? now
                    if blockedSince[id] == nil {
                        logger.notice("power action waits for the majority", metadata: ["id": "\(id)", "problem": "\(problem)"])
                    }
                    blockedSince[id] = since
                    if now - since >= Self.majorityWaitSeconds {
                        blockedSince[id] = nil
                        finish(id, state: .failed, exitStatus: nil,
                               output: "not run: \(problem) (waited \(Int(Self.majorityWaitSeconds)) s)", now: now)
                    }
                    continue
                }
                blockedSince[id] = nil
                inFlight.insert(id)
                coordinator.propose(.powerStarted(id: id, by: config.blade.name, attempt: attempt, at: now)) { [weak self] response in
                    guard let self else { return }
                    self.inFlight.remove(id)
                    guard response.ok else {
                        self.logger.warning("power action not started", metadata: ["id": "\(id)", "error": "\(response.error ?? "")"])
                        return
                    }
                    self.run(record)
                }
            case .finish(let id, let state, let reason):
                guard !inFlight.contains(id) else { continue }
                finish(id, state: state, exitStatus: nil, output: reason, now: now)
            }
        }
    }

    private func finish(_ id: Int64, state: PowerActionState, exitStatus: Int?, output: String, now: Double) {
        inFlight.insert(id)
        coordinator.propose(.powerFinished(id: id, state: state, exitStatus: exitStatus, output: output, at: now)) { [weak self] response in
            guard let self else { return }
            self.inFlight.remove(id)
            // Recorded, or refused because it is already finished: either way nothing is left to say.
            if response.ok || response.code == 409 { self.unrecorded[id] = nil }
        }
    }

    /// Runs the action's command on its slot's queue; back on the loop, records the result.
    private func run(_ record: PowerActionRecord) {
        guard let template = record.action.isIdentify ? config.chassis.identifyCommand : config.chassis.powerCommand else {
            unrecorded[record.id] = (.failed, nil, "this blade (\(config.blade.name)) has no \(record.action.isIdentify ? "identify_command" : "power_command")")
            pass(now: self.clock.wallSeconds())
            return
        }
        running.insert(record.id)
        let member = coordinator.bladeMembers.first { $0.slot == record.slotID }
        let values = ["slot": String(record.slotID), "address": member?.address ?? "", "blade": member?.name ?? "",
                      "action": record.action.commandArgument]
        let command = template.render(values)
        let environment = ["CHASSIS_SLOT": values["slot"] ?? "", "CHASSIS_ADDRESS": values["address"] ?? "",
                           "CHASSIS_BLADE": values["blade"] ?? "", "CHASSIS_ACTION": values["action"] ?? "",
                           "CHASSIS_REQUESTED_BY": record.requestedBy]
        let timeout = config.chassis.powerTimeoutSeconds
        let queue = queues[record.slotID] ?? DispatchQueue(label: "chassis.power.\(record.slotID)")
        queues[record.slotID] = queue
        logger.notice("power action running", metadata: ["id": "\(record.id)", "slot": "\(record.slotID)",
                                                         "action": "\(record.action.rawValue)"])
        let logger = self.logger
        queue.async { [loop] in
            let started = self.clock.monotonicNanoseconds()
            let result = ShellCommand.run(command, environment: environment, timeoutSeconds: timeout)
            let seconds = Double((self.clock.monotonicNanoseconds() - started) / 1_000_000) / 1_000
            let state: PowerActionState = result.status == 0 ? .succeeded : .failed
            var output = result.failure ?? result.text
            if result.timedOut { output += "\nkilled after \(Int(timeout)) s" }
            logger.notice("power action ran", metadata: ["id": "\(record.id)", "status": "\(result.status.map(String.init) ?? "none")",
                                                         "seconds": "\(seconds)"])
            loop.execute { [weak self] in
                guard let self else { return }
                self.running.remove(record.id)
                self.unrecorded[record.id] = (state, result.status.map(Int.init), output)
                self.pass(now: self.clock.wallSeconds())
            }
        }
    }
}
