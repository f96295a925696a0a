import Config
import Control
import Foundation
import Logging
import Metrics
import Model
import Store

/// The engine's state and rules for one blade, free of sockets and timers: the service wrappers
/// (control socket, sampling timers) call into it from one event loop, so it needs no locks.
final class BladeEngine {
    let config: BladeConfig
    let store: StoreWriter
    let logger: Logger
    let role: RoleSource
    /// The blade's collectors; each group is sampled on its own interval.
    let collectors: CollectorSet
    var simulated: SimulatedHardware? { collectors.simulator }
    private(set) var intervalsMs: [SamplingGroup: Int]
    private var rules: [ThresholdRule] = []
    private var conditions: [String: ConditionState] = [:]
    /// The slot's role (module type), for thresholds scoped by module type.
    private var slotRole = "blade"
    /// Counters the engine exposes about itself.
    private(set) var samplesWritten = 0
    private(set) var sampleFailures = 0
    private(set) var controlRequests = 0
    private var lastPublished: StoreWriter.EngineState?

    init(config: BladeConfig, store: StoreWriter, role: RoleSource, collectors: CollectorSet, logger: Logger) throws {
        self.config = config
        self.store = store
        self.role = role
        self.logger = logger
        self.collectors = collectors
        var intervals = config.intervalsMs
        // Intervals changed by the operator survive restarts and override the file.
        for group in SamplingGroup.allCases {
            if let stored = try store.setting("interval_ms.\(group.rawValue)"), let value = Int(stored) {
                intervals[group] = value
            }
        }
        intervalsMs = intervals
        try store.ensureChassis(chassisID: config.chassis.id, name: config.chassis.name, site: config.chassis.site,
                                row: config.chassis.row, rack: config.chassis.rack, shelf: config.chassis.shelf,
                                slotCount: config.chassis.slots)
        try store.registerBlade(slotID: config.blade.slot, name: config.blade.name, address: config.blade.address)
        rules = try store.loadThresholds()
        for (key, open) in try store.openAlerts() {
            conditions[key] = ConditionState(raised: open.severity)
        }
    }

    var activeGroups: [SamplingGroup] { collectors.groups }

    // MARK: Sampling

    /// Samples one group, evaluates thresholds, raises and clears alerts, and writes it all.
    func sample(_ group: SamplingGroup, now: Double) {
        let sample = collectors.sample(group)
        let readings = sample.readings
        for outcome in sample.outcomes where !outcome.succeeded {
            sampleFailures += 1
            logger.warning("collector failed", metadata: ["collector": "\(outcome.collector)", "error": "\(outcome.error ?? "")"])
        }
        if group == .identification {
            recordModule(from: readings, now: now)
        }
        let evaluated = readings.map { reading in
            StoreWriter.EvaluatedReading(reading: reading, status: evaluate(reading, slotID: config.blade.slot, now: now))
        }
        do {
            try store.record(slotID: config.blade.slot, readings: evaluated, at: now)
            samplesWritten += evaluated.count
        } catch {
            sampleFailures += 1
            logger.error("cannot write samples", metadata: ["group": "\(group.rawValue)", "error": "\(error)"])
        }
    }

    private func evaluate(_ reading: Reading, slotID: Int?, now: Double) -> Status {
        guard reading.descriptor.unit != "text" else { return .ok }
        if reading.fault != nil { return .unknown }
        let rule = ThresholdEvaluator.effectiveRule(key: reading.descriptor.key, slotID: slotID, role: slotRole,
                                                     chassisID: config.chassis.id, hardware: reading.descriptor.limits,
                                                     rules: rules)
        let conditionKey = "\(slotID ?? 0)/\(reading.descriptor.key)"
        var state = conditions[conditionKey] ?? ConditionState()
        let (status, transition) = ThresholdEvaluator.evaluate(
            value: reading.value, limits: rule.limits, hysteresis: rule.hysteresis,
            minimumDurationSeconds: rule.minimumDurationSeconds, now: now, state: &state)
        conditions[conditionKey] = state
        guard let transition else { return status }
        do {
            switch transition {
            case .raise(let severity):
                let message = Self.alertMessage(reading: reading, severity: severity, limits: rule.limits)
                let id = try store.raiseAlert(slotID: slotID, metricKey: reading.descriptor.key,
                                              metricLabel: reading.descriptor.label, severity: severity,
                                              message: message, value: reading.value, at: now)
                logger.notice("alert raised", metadata: ["id": "\(id)", "severity": "\(severity.rawValue)", "message": "\(message)"])
            case .clear:
                try store.clearAlert(slotID: slotID, metricKey: reading.descriptor.key, at: now)
                logger.notice("alert cleared", metadata: ["key": "\(reading.descriptor.key)", "slot": "\(slotID ?? 0)"])
            }
        } catch {
            logger.error("cannot record alert", metadata: ["error": "\(error)"])
        }
        return status
    }

    static func alertMessage(reading: Reading, severity: Severity, limits: Limits) -> String {
        let value = reading.value ?? .nan
        let unit = reading.descriptor.unit
        func format(_ number: Double) -> String { String(format: "%.2f", number) }
        var side = ""
        if let high = severity == .critical ? limits.highCritical : limits.highWarning, value >= high {
            side = "at or above \(severity.rawValue) limit \(format(high))"
        } else if let low = severity == .critical ? limits.lowCritical : limits.lowWarning, value <= low {
            side = "at or below \(severity.rawValue) limit \(format(low))"
        } else {
            side = "beyond its \(severity.rawValue) limit"
        }
        return "\(reading.descriptor.label) is \(format(value)) \(unit), \(side)"
    }

    private func recordModule(from readings: [Reading], now: Double) {
        func text(_ key: String) -> String? { readings.first(where: { $0.descriptor.key == key })?.text }
        let macs = readings.filter { $0.descriptor.key.hasPrefix("id.mac.") }.compactMap(\.text).sorted()
        guard let serial = text("id.serial"), !serial.isEmpty else { return }
        let module = ModuleInfo(serial: serial, model: text("id.model") ?? "", revision: text("id.revision") ?? "",
                                manufacturer: text("id.manufacturer") ?? "", macAddresses: macs,
                                ipAddresses: [config.blade.address], installedAt: now)
        do {
            if try store.recordModule(slotID: config.blade.slot, module: module, at: now) {
                logger.notice("module installed", metadata: ["slot": "\(config.blade.slot)", "serial": "\(serial)"])
            }
        } catch {
            logger.error("cannot record module", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Publishing

    /// Publishes the role and the lease for the web app.
    func publish(now: Double) {
        let state = role.current(blade: config)
        do {
            try store.publish(engine: state, at: now)
            if lastPublished?.role != state.role || lastPublished?.term != state.term {
                logger.notice("role", metadata: ["role": "\(state.role)", "term": "\(state.term)",
                                                 "active": "\(state.activeAddress ?? "none")"])
            }
            lastPublished = state
        } catch {
            logger.error("cannot publish engine state", metadata: ["error": "\(error)"])
        }
    }

    func prune(now: Double) {
        do {
            let deleted = try store.prune(now: now, rawSeconds: config.history.rawSeconds,
                                          aggregateSeconds: config.history.aggregateSeconds)
            if deleted > 0 { logger.debug("pruned history", metadata: ["rows": "\(deleted)"]) }
        } catch {
            logger.error("cannot prune history", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Control requests

    /// Validates and applies one request from the web app or the CLI.
    func handle(_ request: ControlRequest, now: Double, reschedule: (SamplingGroup) -> Void) -> ControlResponse {
        controlRequests += 1
        if let problem = ControlValidation.problem(in: request) {
            return .failure(problem, code: 400)
        }
        do {
            switch request {
            case .ping:
                return ControlResponse(ok: true)
            case .setThreshold(let rule):
                let id = try store.setThreshold(rule)
                rules = try store.loadThresholds()
                logger.notice("threshold set", metadata: ["key": "\(rule.metricKey)", "id": "\(id)"])
                return ControlResponse(ok: true, id: id)
            case .removeThreshold(let id):
                guard try store.removeThreshold(id: id) else { return .failure("no threshold \(id)", code: 404) }
                rules = try store.loadThresholds()
                return ControlResponse(ok: true, id: id)
            case .setChassisInfo(let name, let site, let row, let rack, let shelf):
                try store.updateChassis(name: name, site: site, row: row, rack: rack, shelf: shelf)
                return ControlResponse(ok: true)
            case .setSlot(let slotID, let name, let moduleType):
                guard slotID <= config.chassis.slots, try store.updateSlot(slotID: slotID, name: name, moduleType: moduleType) else {
                    return .failure("no slot \(slotID)", code: 404)
                }
                if slotID == config.blade.slot, let role = moduleType?.role { slotRole = role }
                return ControlResponse(ok: true)
            case .acknowledgeAlert(let id, let by):
                guard try store.acknowledgeAlert(id: id, by: by, at: now) else { return .failure("no alert \(id)", code: 404) }
                return ControlResponse(ok: true, id: id)
            case .setInterval(let group, let intervalMs):
                try store.setSetting("interval_ms.\(group.rawValue)", String(intervalMs))
                intervalsMs[group] = intervalMs
                reschedule(group)
                return ControlResponse(ok: true)
            case .setSensor(let key, let value):
                guard let simulated else { return .failure("this blade has real sensors; only simulated ones can be set", code: 409) }
                if let value {
                    try SimulatedHardware.setPin(key, .value(value), in: simulated.directory)
                } else {
                    try SimulatedHardware.removePin(key, in: simulated.directory)
                }
                logger.notice("simulated sensor", metadata: ["key": "\(key)", "value": "\(value.map { "\($0)" } ?? "released")"])
                return ControlResponse(ok: true)
            }
        } catch {
            if let simulationError = error as? SimulatedHardware.SimulationError {
                return .failure(simulationError.description, code: 400)
            }
            logger.error("control request failed", metadata: ["error": "\(error)"])
            return .failure("\(error)", code: 500)
        }
    }
}
