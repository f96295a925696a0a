import Config
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
import Metrics
import Model
import Store

/// The engine's rules for one blade, free of sockets and timers: the service (sampling timers,
/// control socket, coordinator) calls into it from one event loop, so it needs no locks.
///
/// Every blade samples itself, records its values and sends them to the others; every blade
/// records what the others send. Only the active manager turns threshold crossings and new
/// modules into commands of the replicated log, so the alert log and the slots' module history
/// are the same on every blade.
final class BladeEngine {
    let config: BladeConfig
    let store: StoreWriter
    let logger: Logger
    let coordinator: Coordinator
    /// The blade's collectors; nil on a witness.
    let collectors: CollectorSet?
    var simulated: SimulatedHardware? { collectors?.simulator }
    private(set) var intervalsMs: [SamplingGroup: Int]
    /// Which members each group's values go to (all by default).
    private(set) var replication = ReplicationPolicy()
    private var rules: [ThresholdRule] = []
    /// Threshold conditions by "slot/key", on every blade (statuses are computed everywhere).
    private var conditions: [String: ConditionState] = [:]
    /// The open alerts of the replicated log by "slot/key", kept in step with the store.
    private var openAlerts: [String: Severity] = [:]
    /// Alert and module proposals not yet committed, so that none is proposed twice.
    private var inFlight: Set<String> = []
    private var moduleSerials: [Int: String] = [:]
    private var moduleModels: [Int: String] = [:]
    private var expectedModels: [Int: String] = [:]
    private var slotRoles: [Int: String] = [:]
    private var slotAffinities: [Int: (affinity: SlotAffinity, approved: String)] = [:]
    private var batches: MetricsBatchBuilder
    /// Chassis-level devices, sampled while this blade is the active manager.
    private let chassisDevices: ChassisDevicesCollector?
    private var chassisBatches: MetricsBatchBuilder
    /// When each other blade's last batch arrived (wall clock), and which are shown as down.
    private var lastReports: [Int: Double] = [:]
    private var downSlots: Set<Int> = []
    /// Each other blade's clock as its batches show it (on every blade; acted on by the active manager).
    private var clocks: [Int: ClockSkewEstimator] = [:]
    /// Sensors whose readings fail, by "slot/key": since when, and their label and error.
    private var faulting: [String: (slot: Int, key: String, label: String, since: Double, fault: String)] = [:]
    /// The last (run, sequence) seen from each slot, to drop batches that arrive out of order.
    private var lastSequences: [Int: (run: UInt64, sequence: UInt64)] = [:]
    private(set) var samplesWritten = 0
    private(set) var sampleFailures = 0
    private(set) var controlRequests = 0
    private(set) var batchesReceived = 0
    private var lastPublished: StoreWriter.EngineState?
    private var lastClusterPublishedAt = 0.0
    /// This blade's identification as last sampled, for when it becomes the active manager.
    private var ownIdentification: [(String, String?)] = []
    /// Called when an interval changed through the log.
    var reschedule: (SamplingGroup) -> Void = { _ in }
    /// Called when the chassis' certificate authority arrived through the log.
    var certificatesChanged: () -> Void = {}
    /// Called after a command appended events or changed the notification targets.
    var eventsChanged: () -> Void = {}
    /// Called after a power action was asked or finished (the power service looks for work).
    var powerChanged: () -> Void = {}
    /// Each slot's power as the operators' actions left it (slots without actions are absent).
    private(set) var powerBySlot: [Int: SlotPower] = [:]
    /// Sends notifications on the active manager; set by the service.
    var notifications: NotificationService?

    init(config: BladeConfig, store: StoreWriter, coordinator: Coordinator, collectors: CollectorSet?, logger: Logger) throws {
        startedAt = coordinator.clock.wallSeconds()
        self.config = config
        self.store = store
        self.logger = logger
        self.coordinator = coordinator
        self.collectors = collectors
        intervalsMs = config.intervalsMs
        var generator = SystemRandomNumberGenerator()
        batches = MetricsBatchBuilder(blade: config.blade.name, slotID: config.blade.slot,
                                      run: UInt64.random(in: 1...UInt64.max, using: &generator))
        chassisBatches = MetricsBatchBuilder(blade: config.blade.name, slotID: 0,
                                             run: UInt64.random(in: 1...UInt64.max, using: &generator), fullEverySeconds: 10)
        if collectors == nil {
            chassisDevices = nil
        } else if let command = config.chassis.devicesCommand {
            chassisDevices = ChassisDevicesCollector(source: .command(command))
        } else if let directory = config.chassis.devicesSimulatedDir {
            chassisDevices = ChassisDevicesCollector(source: .simulated(directory: directory, seed: 0xC4A5_515))
        } else {
            chassisDevices = nil
        }
        chassisDevices?.supplyWatts = config.chassis.powerSupplyWatts
        try store.ensureChassis(chassisID: config.chassis.id, name: config.chassis.name, site: config.chassis.site,
                                row: config.chassis.row, rack: config.chassis.rack, shelf: config.chassis.shelf,
                                slotCount: config.chassis.slots)
        for member in Coordinator.members(of: config) where !member.witness {
            if let slot = member.slot {
                try store.registerBlade(slotID: slot, name: member.name, address: member.address)
            }
        }
        try reloadConfiguration()
        for (key, severity) in openAlerts {
            conditions[key] = ConditionState(raised: severity)
        }
    }

    /// The next batches carry everything: another blade (a new member, a new active manager) may
    /// lack what earlier batches said only once.
    func sendFullBatchesNext() {
        batches.forceFull()
        chassisBatches.forceFull()
    }

    /// Re-reads what the replicated log changes: thresholds, intervals, open alerts, modules.
    func reloadConfiguration() throws {
        rules = try store.loadThresholds()
        openAlerts = try store.openAlerts().mapValues(\.severity)
        moduleSerials = try store.currentModuleSerials()
        moduleModels = try store.currentModuleModels()
        expectedModels = try store.expectedModels()
        slotRoles = try store.slotRoles()
        slotAffinities = try store.slotAffinities()
        try reloadReplication()
        try reloadPower()
        for group in SamplingGroup.allCases {
            if let stored = try store.setting(group.intervalSettingKey), let value = Int(stored), value != intervalsMs[group] {
                intervalsMs[group] = value
                reschedule(group)
            }
        }
    }

    var activeGroups: [SamplingGroup] { collectors?.groups ?? [] }

    func reloadPower() throws {
        powerBySlot = Dictionary(grouping: try store.powerActions(), by: \.slotID).mapValues(SlotPower.derive)
    }

    private func reloadReplication() throws {
        var settings: [String: String] = [:]
        for key in try store.settingKeys(prefix: ReplicationPolicy.settingPrefix) { settings[key] = try store.setting(key) }
        replication = ReplicationPolicy.from(settings: settings)
    }

    // MARK: Sampling

    /// Samples the groups that are due together, records them in one transaction (one new data
    /// version for the web app), sends them to the other blades in one batch and, on the active
    /// manager, turns crossings into alerts.
    func sample(_ groups: [SamplingGroup], now: Double) {
        guard let collectors, !groups.isEmpty else { return }
        var readings: [Reading] = []
        for group in groups {
            let sample = collectors.sample(group)
            for outcome in sample.outcomes where !outcome.succeeded {
                sampleFailures += 1
                logger.warning("collector failed", metadata: ["collector": "\(outcome.collector)", "error": "\(outcome.error ?? "")"])
            }
            if group == .identification {
                ownIdentification = sample.readings.map { ($0.descriptor.key, $0.text) }
            }
            readings += sample.readings
        }
        let slotID = config.blade.slot
        let evaluated = readings.map { reading in
            StoreWriter.EvaluatedReading(reading: reading, status: evaluate(reading, slotID: slotID, now: now))
        }
        do {
            try store.record(slotID: slotID, readings: evaluated, at: now)
            samplesWritten += evaluated.count
        } catch {
            sampleFailures += 1
            logger.error("cannot write samples", metadata: ["error": "\(error)"])
        }
        if groups.contains(.identification) {
            checkModule(slotID: slotID, values: ownIdentification, now: now)
        }
        // Always through the builder, so that it knows every last value when peers appear.
        if let batch = batches.batch(evaluated.map { ($0.reading, $0.status) }, at: now), coordinator.hasPeers {
            if replication.isEverywhere {
                coordinator.broadcast(batch)
            } else {
                var groups: [String: SamplingGroup] = [:]
                for item in evaluated { groups[item.reading.descriptor.key] = item.reading.descriptor.group }
                let policy = replication
                coordinator.broadcast { peer in
                    var kept = batch
                    kept.values = batch.values.filter { value in groups[value.key].map { policy.sends($0, to: peer) } ?? true }
                    // Even with nothing in it for this peer, the batch says the blade is alive.
                    return kept
                }
            }
        }
        if groups.contains(.sensors) { sampleChassisDevices(now: now) }
    }

    /// The active manager samples the chassis' own devices, records them at chassis level and
    /// sends them on like any blade's values.
    private func sampleChassisDevices(now: Double) {
        guard let chassisDevices, coordinator.isActive else { return }
        let readings: [Reading]
        do {
            readings = try chassisDevices.collect()
        } catch {
            sampleFailures += 1
            logger.warning("chassis devices", metadata: ["error": "\(error)"])
            return
        }
        let evaluated = readings.map { StoreWriter.EvaluatedReading(reading: $0, status: evaluate($0, slotID: 0, now: now)) }
        do {
            try store.record(slotID: 0, readings: evaluated, at: now)
        } catch {
            logger.error("cannot write chassis devices", metadata: ["error": "\(error)"])
        }
        if let batch = chassisBatches.batch(evaluated.map { ($0.reading, $0.status) }, at: now) {
            coordinator.broadcast(batch)
        }
    }

    /// Batches from the other blades, written together by `flushReplicated` (one transaction, one
    /// new data version, however many blades report).
    private var pendingBatches: [MetricsBatch] = []
    static let pendingBatchesMax = 1_024

    /// Another blade's batch: recorded under its slot at the next flush; on the active manager,
    /// evaluated for alerts at once.
    func received(_ batch: MetricsBatch, from sender: String, now: Double) {
        if let last = lastSequences[batch.slotID], last.run == batch.run, batch.sequence <= last.sequence { return }
        lastSequences[batch.slotID] = (batch.run, batch.sequence)
        batchesReceived += 1
        if pendingBatches.count >= Self.pendingBatchesMax { pendingBatches.removeFirst() }
        pendingBatches.append(batch)
        lastReports[batch.slotID] = now
        clocks[batch.slotID, default: ClockSkewEstimator()].note(sampled: batch.sampledAt, received: now)
        if downSlots.remove(batch.slotID) != nil {
            logger.notice("blade reporting again", metadata: ["slot": "\(batch.slotID)", "blade": "\(sender)"])
        }
        guard coordinator.isActive else { return }
        for value in batch.values {
            guard let descriptor = value.descriptor ?? store.knownDescriptor(slotID: batch.slotID, key: value.key),
                  descriptor.unit != "text" else { continue }
            _ = evaluate(Reading(descriptor: descriptor, value: value.value, text: value.text, fault: value.fault),
                         slotID: batch.slotID, now: now)
        }
        let identification = batch.values.filter { $0.key.hasPrefix("id.") }.map { ($0.key, $0.text) }
        if identification.contains(where: { $0.0 == "id.serial" }) {
            checkModule(slotID: batch.slotID, values: identification, now: now)
        }
    }

    /// Writes the batches received since the last flush, in one transaction.
    func flushReplicated(now: Double) {
        guard !pendingBatches.isEmpty else { return }
        let batches = pendingBatches
        pendingBatches.removeAll(keepingCapacity: true)
        do {
            try store.recordReplicated(batches, at: now)
        } catch {
            logger.error("cannot record replicated batches", metadata: ["count": "\(batches.count)", "error": "\(error)"])
        }
    }

    /// Marks blades whose batches stopped as down since their last report (their last values stay).
    func checkReports(now: Double) {
        let limit = Double(config.cluster.downAfterMs) / 1000
        for member in coordinator.bladeMembers {
            guard let slot = member.slot, slot != config.blade.slot, !downSlots.contains(slot) else { continue }
            let last = lastReports[slot]
            guard let last, now - last > limit else {
                if last == nil, now - startedAt > limit {
                    lastReports[slot] = startedAt
                }
                continue
            }
            downSlots.insert(slot)
            do {
                try store.setBladeDown(slotID: slot, since: last)
                logger.warning("blade stopped reporting", metadata: ["slot": "\(slot)", "blade": "\(member.name)"])
            } catch {
                logger.error("cannot mark a blade down", metadata: ["error": "\(error)"])
            }
        }
        proposeBladeAlerts(now: now)
        proposeModuleAlerts(now: now)
        proposeManagerAlert(now: now)
        proposeLapsedAcknowledgements(now: now)
        proposeClockAlerts(now: now)
        proposeSensorFaultAlerts(now: now)
    }

    /// The metric key of the alert a blade whose clock is far off raises.
    static let clockSkewKey = "clock.skew"

    /// On the active manager: a blade whose clock is more than 2 s off this one's (as its batches
    /// show) is a warning until it is within 1 s: its times, and every alert it causes, would be wrong.
    private func proposeClockAlerts(now: Double) {
        settleSlotAlerts(key: Self.clockSkewKey, slots: Set(clocks.keys), now: now) { slot in
            let key = "\(slot)/\(Self.clockSkewKey)"
            guard let estimator = self.clocks[slot], !self.downSlots.contains(slot),
                  estimator.isFarOff(wasFarOff: self.openAlerts[key] != nil), let skew = estimator.estimate else { return nil }
            let direction = skew > 0 ? "behind" : "ahead of"
            let seconds = (abs(skew) * 10).rounded() / 10
            return ("Clock", .warning, "slot \(slot)'s clock is \(seconds) s \(direction) the active manager's")
        }
    }

    /// A sensor that stops reading is a warning once it has failed for this long.
    static let sensorFaultSeconds = 5.0
    static let sensorFaultPrefix = "reading:"

    /// On the active manager: a health sensor whose readings fail (libsensors cannot read it) for
    /// `sensorFaultSeconds` is a warning, one per sensor, until it reads again.
    private func proposeSensorFaultAlerts(now: Double) {
        guard coordinator.isActive else { return }
        var wanted: [String: (slot: Int, key: String, label: String, message: String)] = [:]
        for entry in faulting.values where now - entry.since >= Self.sensorFaultSeconds && !downSlots.contains(entry.slot) {
            wanted["\(entry.slot)/\(Self.sensorFaultPrefix)\(entry.key)"] =
                (entry.slot, entry.key, entry.label, "\(entry.label) stopped reading since \(Format.time(entry.since)): \(entry.fault)")
        }
        let open = openAlerts.keys.filter { $0.contains("/" + Self.sensorFaultPrefix) }
        for alertKey in Set(open).union(wanted.keys).sorted() where !inFlight.contains(alertKey) {
            let isOpen = openAlerts[alertKey] != nil
            let command: ClusterCommand
            if let entry = wanted[alertKey], !isOpen {
                command = .raiseAlert(slotID: entry.slot == 0 ? nil : entry.slot, metricKey: Self.sensorFaultPrefix + entry.key,
                                      metricLabel: entry.label + " reading", severity: .warning, message: entry.message,
                                      value: nil, at: now)
            } else if wanted[alertKey] == nil, isOpen, let separator = alertKey.firstIndex(of: "/") {
                let slot = Int(alertKey[..<separator]) ?? 0
                command = .clearAlert(slotID: slot == 0 ? nil : slot, metricKey: String(alertKey[alertKey.index(after: separator)...]), at: now)
            } else {
                continue
            }
            inFlight.insert(alertKey)
            coordinator.propose(command) { [weak self] _ in self?.inFlight.remove(alertKey) }
        }
    }

    /// On the active manager: an acknowledgement given for a time that has run out ends through
    /// the log (the alert is new again on every blade, and notified again).
    private func proposeLapsedAcknowledgements(now: Double) {
        guard coordinator.isActive else { return }
        let lapsed: [Int64]
        do { lapsed = try store.lapsedAcknowledgements(at: now) } catch {
            logger.error("cannot read the acknowledgements", metadata: ["error": "\(error)"])
            return
        }
        for id in lapsed {
            let key = "acknowledgement/\(id)"
            guard !inFlight.contains(key) else { continue }
            inFlight.insert(key)
            coordinator.propose(.acknowledgementLapsed(alertID: id, at: now)) { [weak self] _ in self?.inFlight.remove(key) }
        }
        let ended: [Int64]
        do { ended = try store.maintenanceDueToEnd(at: now) } catch {
            logger.error("cannot read the maintenance windows", metadata: ["error": "\(error)"])
            return
        }
        for id in ended {
            let key = "maintenance/\(id)"
            guard !inFlight.contains(key) else { continue }
            inFlight.insert(key)
            coordinator.propose(.maintenanceEnded(id: id, at: now)) { [weak self] _ in self?.inFlight.remove(key) }
        }
    }

    /// The metric key of the alert a module of another model than its slot expects raises.
    static let moduleModelKey = "module.model"

    /// On the active manager: a module whose model is not the one its slot's type expects is a
    /// warning until the module or the expected model changes (the slot's identity is sticky: the
    /// operator decides whether the new model belongs there).
    private func proposeModuleAlerts(now: Double) {
        settleSlotAlerts(key: Self.moduleModelKey, slots: Set(moduleModels.keys), now: now) { slot in
            let expected = self.expectedModels[slot] ?? ""
            guard let model = self.moduleModels[slot], !expected.isEmpty, model != expected else { return nil }
            return ("Module model", .warning, "slot \(slot) holds a \(model) where its type expects a \(expected)")
        }
        settleSlotAlerts(key: Self.moduleSerialKey, slots: Set(moduleSerials.keys), now: now) { slot in
            guard let serial = self.moduleSerials[slot], self.awaitsApproval(slot) else { return nil }
            let approved = self.slotAffinities[slot]?.approved ?? ""
            return ("Module approval", .warning,
                    "slot \(slot) holds module \(serial)\(approved.isEmpty ? "" : " instead of \(approved)"): approve it to manage it as the slot's type")
        }
    }

    /// The metric key of the alert a module waiting for approval (`slot+serial`) raises.
    static let moduleSerialKey = "module.serial"

    /// Whether the slot is `slot+serial` and holds a module other than the approved one: it is not
    /// managed as the slot's type (the type's thresholds do not apply) until an operator approves it.
    func awaitsApproval(_ slot: Int) -> Bool {
        guard let entry = slotAffinities[slot], entry.affinity == .slotSerial, let serial = moduleSerials[slot] else { return false }
        return serial != entry.approved
    }

    /// The metric key of the chassis-level alert a change of active manager raises.
    static let managerChangedKey = "manager.active"
    /// The alert of a change of active manager clears by itself after this long.
    static let managerChangedAlertSeconds = 600.0
    /// The last other blade seen as the active manager, and when this one took over.
    private var lastOtherActive: String?
    private var managerChangedAt: Double?
    private var managerChangeMessage: String?
    /// Since when this blade has seen no majority; and the loss to report once it is the active manager.
    private var noQuorumSince: Double?
    private var quorumLoss: (from: Double, to: Double)?
    /// A loss of quorum shorter than this is an election's ordinary gap, not an event.
    static let quorumLossSeconds = 2.0

    /// On becoming the active manager after another: a warning (once committed, the same on every
    /// blade), cleared after `managerChangedAlertSeconds`.
    private func noteManagerChange(_ state: StoreWriter.EngineState, now: Double) {
        if state.role == .active, lastPublished?.role != .active, let previous = lastOtherActive {
            managerChangedAt = now
            managerChangeMessage = "the active manager moved from \(previous) to \(config.blade.name) (\(config.blade.address)), term \(state.term)"
        }
        if let active = state.activeAddress, active != config.blade.address { lastOtherActive = active }
        if state.role != .active { (managerChangeMessage, managerChangedAt) = (nil, nil) }
        if let quorum = state.cluster?.quorum {
            if !quorum, noQuorumSince == nil { noQuorumSince = now }
            if quorum, let since = noQuorumSince {
                noQuorumSince = nil
                if now - since >= Self.quorumLossSeconds { quorumLoss = (since, now) }
            }
        }
        // Another blade took over: the loss is its to report (it saw it too), not this one's later.
        if quorumLoss != nil, state.role == .standby, state.cluster?.quorum == true { quorumLoss = nil }
        if let loss = quorumLoss, state.role == .active, coordinator.isActive {
            quorumLoss = nil
            let seconds = Int((loss.to - loss.from).rounded())
            proposeEvent(.quorumLost, severity: .warning, slotID: nil,
                         message: "the chassis had no majority from \(Format.time(loss.from)) to \(Format.time(loss.to)) (\(seconds) s): no active manager, no changes; seen by \(config.blade.name)",
                         now: now)
        }
    }

    /// On the active manager: raises the pending alert of its own takeover, clears an old one.
    private func proposeManagerAlert(now: Double) {
        guard coordinator.isActive else { return }
        let key = "0/\(Self.managerChangedKey)"
        guard !inFlight.contains(key) else { return }
        let command: ClusterCommand
        if let message = managerChangeMessage {
            command = .raiseAlert(slotID: nil, metricKey: Self.managerChangedKey, metricLabel: "Active manager", severity: .warning,
                                  message: message, value: nil, at: managerChangedAt ?? now)
        } else if openAlerts[key] != nil {
            if managerChangedAt == nil { managerChangedAt = now }
            guard now - (managerChangedAt ?? now) >= Self.managerChangedAlertSeconds else { return }
            command = .clearAlert(slotID: nil, metricKey: Self.managerChangedKey, at: now)
        } else {
            return
        }
        inFlight.insert(key)
        coordinator.propose(command) { [weak self] response in
            self?.inFlight.remove(key)
            if response.ok, case .raiseAlert = command { self?.managerChangeMessage = nil }
        }
    }

    /// The metric key of the alert a blade that stopped reporting raises.
    static let bladeDownKey = "blade.reporting"

    /// On the active manager: a blade that stopped reporting is a critical alert until it reports
    /// again (or leaves the membership).
    private func proposeBladeAlerts(now: Double) {
        var memberSlots: [Int: String] = [:]
        for member in coordinator.bladeMembers {
            if let slot = member.slot, slot != config.blade.slot { memberSlots[slot] = member.name }
        }
        settleSlotAlerts(key: Self.bladeDownKey, slots: Set(memberSlots.keys), now: now) { slot in
            guard self.downSlots.contains(slot), let name = memberSlots[slot] else { return nil }
            // Powered off, or being cycled, by an operator: silence is expected, not a failure.
            if self.powerBySlot[slot]?.expectsSilence(lastReportAt: self.lastReports[slot], now: now,
                                                       bootSeconds: self.config.chassis.powerBootSeconds) != nil { return nil }
            return ("Blade reporting", .critical,
                    "\(name) (slot \(slot)) stopped reporting at \(Format.time(self.lastReports[slot]))")
        }
    }

    /// On the active manager, brings the alert log in line with a condition of each slot: raises
    /// the alert (`condition` says its label, severity and message) where the condition holds and
    /// none is open, clears it where one is open and the condition no longer holds. The log
    /// decides, so there is one alert per slot whichever blade is the active manager, and a new
    /// active manager settles what it inherits on its first pass. `slots` are those to look at
    /// besides the ones with an open alert.
    private func settleSlotAlerts(key metricKey: String, slots: Set<Int>, now: Double,
                                  condition: (Int) -> (label: String, severity: Severity, message: String)?) {
        guard coordinator.isActive else { return }
        var candidates = slots
        for key in openAlerts.keys where key.hasSuffix("/" + metricKey) {
            if let slot = Int(key.prefix { $0 != "/" }) { candidates.insert(slot) }
        }
        for slot in candidates.sorted() {
            let key = "\(slot)/\(metricKey)"
            let holds = condition(slot)
            guard (openAlerts[key] != nil) != (holds != nil), !inFlight.contains(key) else { continue }
            let command: ClusterCommand = holds.map {
                .raiseAlert(slotID: slot, metricKey: metricKey, metricLabel: $0.label, severity: $0.severity, message: $0.message,
                            value: nil, at: now)
            } ?? .clearAlert(slotID: slot, metricKey: metricKey, at: now)
            inFlight.insert(key)
            coordinator.propose(command) { [weak self] response in
                self?.inFlight.remove(key)
                if !response.ok {
                    self?.logger.warning("alert not recorded", metadata: ["key": "\(key)", "error": "\(response.error ?? "")"])
                }
            }
        }
    }

    private let startedAt: Double

    /// Evaluates one reading against the thresholds in force; on the active manager a transition
    /// becomes a proposal to the replicated alert log.
    private func evaluate(_ reading: Reading, slotID: Int, now: Double) -> Status {
        guard reading.descriptor.unit != "text", reading.descriptor.replication != .local else { return .ok }
        let faultKey = "\(slotID)/\(reading.descriptor.key)"
        if let fault = reading.fault {
            if reading.descriptor.metricClass == .health, faulting[faultKey] == nil {
                faulting[faultKey] = (slotID, reading.descriptor.key, reading.descriptor.label, now, fault)
            }
            return .unknown
        }
        faulting[faultKey] = nil
        let rule = ThresholdEvaluator.effectiveRule(key: reading.descriptor.key, slotID: slotID == 0 ? nil : slotID,
                                                     role: awaitsApproval(slotID) ? nil : slotRoles[slotID],
                                                     chassisID: config.chassis.id,
                                                     hardware: reading.descriptor.limits, rules: rules)
        let conditionKey = "\(slotID)/\(reading.descriptor.key)"
        var state = conditions[conditionKey] ?? ConditionState()
        let active = coordinator.isActive
        if active {
            // The log is the truth about what is raised: start from it.
            state.raised = openAlerts[conditionKey]
        }
        let (status, transition) = ThresholdEvaluator.evaluate(
            value: reading.value, limits: rule.limits, hysteresis: rule.hysteresis,
            minimumDurationSeconds: rule.minimumDurationSeconds, now: now, state: &state)
        conditions[conditionKey] = state
        guard active, let transition, !inFlight.contains(conditionKey) else { return status }
        let slot: Int? = slotID == 0 ? nil : slotID
        let command: ClusterCommand
        switch transition {
        case .raise(let severity):
            command = .raiseAlert(slotID: slot, metricKey: reading.descriptor.key, metricLabel: reading.descriptor.label,
                                  severity: severity,
                                  message: Self.alertMessage(reading: reading, severity: severity, limits: rule.limits),
                                  value: reading.value, at: now)
        case .clear:
            command = .clearAlert(slotID: slot, metricKey: reading.descriptor.key, at: now)
        }
        inFlight.insert(conditionKey)
        coordinator.propose(command) { [weak self] response in
            self?.inFlight.remove(conditionKey)
            if !response.ok {
                self?.logger.warning("alert not recorded", metadata: ["key": "\(conditionKey)", "error": "\(response.error ?? "")"])
            }
        }
        return status
    }

    /// "CPU Package id 0 (coretemp-isa-0000) is 101.0 °C, at or above the critical limit 100.0 °C".
    static func alertMessage(reading: Reading, severity: Severity, limits: Limits) -> String {
        let descriptor = reading.descriptor
        func show(_ number: Double) -> String {
            Format.value(number, text: nil, fault: nil, unit: descriptor.unit)
        }
        let value = reading.value.map(show) ?? "unreadable"
        let name = descriptor.component.isEmpty || descriptor.label.contains(descriptor.component)
            ? descriptor.label : "\(descriptor.label) (\(descriptor.component))"
        if descriptor.unit == "state" { return "\(name) is \(value)" }
        let number = reading.value ?? .nan
        if let high = severity == .critical ? limits.highCritical : limits.highWarning, number >= high {
            return "\(name) is \(value), at or above the \(severity.rawValue) limit \(show(high))"
        }
        if let low = severity == .critical ? limits.lowCritical : limits.lowWarning, number <= low {
            return "\(name) is \(value), at or below the \(severity.rawValue) limit \(show(low))"
        }
        return "\(name) is \(value), beyond its \(severity.rawValue) limit"
    }

    /// On the active manager: a module with a new serial in a slot becomes a log command.
    private func checkModule(slotID: Int, values: [(String, String?)], now: Double) {
        guard coordinator.isActive else { return }
        func text(_ key: String) -> String? { values.first(where: { $0.0 == key })?.1 }
        guard let serial = text("id.serial"), !serial.isEmpty, moduleSerials[slotID] != serial else { return }
        let flightKey = "module/\(slotID)"
        guard !inFlight.contains(flightKey) else { return }
        let macs = values.filter { $0.0.hasPrefix("id.mac.") }.compactMap(\.1).sorted()
        let address = Coordinator.members(of: config).first { $0.slot == slotID }?.address
        let module = ModuleInfo(serial: serial, model: text("id.model") ?? "", revision: text("id.revision") ?? "",
                                manufacturer: text("id.manufacturer") ?? "", macAddresses: macs,
                                ipAddresses: address.map { [$0] } ?? [], installedAt: now)
        inFlight.insert(flightKey)
        coordinator.propose(.recordModule(slotID: slotID, module: module, at: now)) { [weak self] _ in
            self?.inFlight.remove(flightKey)
        }
    }

    // MARK: Publishing

    /// Publishes the role and the lease for the web app; returns what it published.
    @discardableResult
    func publish(now: Double) -> StoreWriter.EngineState {
        var state = coordinator.engineState()
        if state.role == .active, let notifications, !notifications.targets.isEmpty {
            state.cluster?.notifications = notifications.published
        }
        noteManagerChange(state, now: now)
        if state.role == .active && !ownIdentification.isEmpty {
            checkModule(slotID: config.blade.slot, values: ownIdentification, now: now)
        }
        // The cluster view is rewritten when the roles change, else once a second (for the
        // members' last-heard times).
        let changed = lastPublished?.role != state.role || lastPublished?.term != state.term
            || lastPublished?.activeAddress != state.activeAddress
            || lastPublished?.cluster?.members.map(\.role) != state.cluster?.members.map(\.role)
            || lastPublished?.cluster?.quorum != state.cluster?.quorum
        let includeCluster = changed || now - lastClusterPublishedAt >= 1
        do {
            try store.publish(engine: state, at: now, includeCluster: includeCluster)
            coordinator.published(state)
            if includeCluster { lastClusterPublishedAt = now }
            if lastPublished?.role != state.role || lastPublished?.term != state.term
                || lastPublished?.activeAddress != state.activeAddress {
                logger.notice("role", metadata: ["role": "\(state.role)", "term": "\(state.term)",
                                                 "active": "\(state.activeAddress ?? "none")"])
            }
            lastPublished = state
        } catch {
            logger.error("cannot publish engine state", metadata: ["error": "\(error)"])
        }
        return state
    }

    /// Counts the samples written since the last pass into their minute aggregates.
    func aggregateMinutes() {
        do {
            try store.aggregateMinutes()
        } catch {
            logger.error("cannot aggregate minutes", metadata: ["error": "\(error)"])
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

    /// Validates one request from the web app or the CLI; changes go through the replicated log
    /// and are answered once committed on a majority and applied here.
    func handle(_ request: ControlRequest, actor: Actor, now: Double, reply: @escaping (ControlResponse) -> Void) {
        controlRequests += 1
        if let problem = ControlValidation.problem(in: request) {
            reply(.failure(problem, code: 400))
            return
        }
        switch request {
        case .ping:
            reply(ControlResponse(ok: true))
        case .setReplication(_, let members?) where !Set(members).isSubset(of: Set(coordinator.bladeMembers.map(\.name))):
            let unknown = Set(members).subtracting(coordinator.bladeMembers.map(\.name)).sorted()
            reply(.failure("not a member of the chassis: \(unknown.joined(separator: ", "))", code: 400))
        case .setNotifications(let targets):
            guard let notifications else { return reply(.failure("a witness sends no notifications", code: 409)) }
            do {
                let prepared = try notifications.prepare(targets)
                coordinator.propose(.audited(.setNotifications(prepared), actor: actor, at: now), completion: reply)
            } catch {
                reply(.failure("\(error)", code: 400))
            }
        case .testNotifications:
            guard let notifications else { return reply(.failure("a witness sends no notifications", code: 409)) }
            guard coordinator.isActive else {
                return reply(ControlResponse(ok: false, error: "only the active manager sends notifications", code: 409,
                                             activeAddress: coordinator.activeMember?.member.address))
            }
            notifications.test(now: now, reply: reply)
        case .handOver(let target):
            guard coordinator.isActive else { return reply(coordinator.handOver(to: target)) }
            // Recorded first, while this blade can still commit: after the hand-over it cannot.
            let record = auditRecord(request, actor: actor, target: "manager \(config.blade.name)",
                                     new: ["to": target ?? "the most preferred member"], now: now)
            coordinator.propose(.auditEvent(record)) { [weak self] recorded in
                guard let self else { return }
                if !recorded.ok {
                    self.logger.warning("hand-over not recorded", metadata: ["error": "\(recorded.error ?? "")"])
                }
                reply(self.coordinator.handOver(to: target))
            }
        case .addMember(let name, let address, let slot, let port, let priority, let witness):
            guard coordinator.isActive else {
                reply(.failure("only the active manager adds members", code: 409))
                return
            }
            let command = ClusterCommand.member(name: name, memberID: coordinator.newMemberID(slot: slot), address: address,
                                                slot: slot, port: port, priority: priority, witness: witness)
            coordinator.propose(command) { [weak self] response in
                guard let self, response.ok else { return reply(response) }
                let added = self.coordinator.addToMembership(name: name)
                if added.ok {
                    self.recordEvent(request, actor: actor, target: "member \(name)",
                                     new: ["address": address, "slot": slot.map(String.init) ?? "", "witness": String(witness)], now: now)
                    self.proposeEvent(.memberAdded, slotID: slot,
                                      message: "\(witness ? "witness" : "blade") \(name) (\(address)) added by \(actor.user)", now: now)
                }
                reply(added)
            }
        case .removeMember(let name):
            guard name != config.blade.name else {
                reply(.failure("the active manager cannot remove itself: hand over first", code: 409))
                return
            }
            let removed = coordinator.removeFromMembership(name: name)
            guard removed.ok else { return reply(removed) }
            let slot = coordinator.bladeMembers.first { $0.name == name }?.slot
            coordinator.propose(.dropMember(name: name)) { [weak self] response in
                if response.ok {
                    self?.recordEvent(request, actor: actor, target: "member \(name)", new: nil, now: now)
                    self?.proposeEvent(.memberRemoved, slotID: slot, message: "\(name) removed by \(actor.user)", now: now)
                }
                reply(response)
            }
        case .power(let slotID, let action, let handOver):
            handlePower(request, slotID: slotID, action: action, handOver: handOver, actor: actor, now: now, reply: reply)
        default:
            coordinator.propose(.audited(request, actor: actor, at: now), completion: reply)
        }
    }

    /// A power or identify action: checked here on the active manager (a command to run it, not
    /// the last majority, not its own blade unless it hands over), then recorded in the log; the
    /// power service of whichever blade is the active manager carries it out.
    private func handlePower(_ request: ControlRequest, slotID: Int, action: PowerAction, handOver: Bool, actor: Actor,
                             now: Double, reply: @escaping (ControlResponse) -> Void) {
        guard coordinator.isActive else {
            // Refused with the active manager's address, so that the caller asks it instead.
            return coordinator.propose(.audited(request, actor: actor, at: now), completion: reply)
        }
        guard (1...config.chassis.slots).contains(slotID) else { return reply(.failure("no slot \(slotID)", code: 404)) }
        if action.isIdentify ? config.chassis.identifyCommand == nil : config.chassis.powerCommand == nil {
            let setting = action.isIdentify ? "identify_command" : "power_command"
            return reply(.failure("no \(setting) is configured ([chassis] \(setting) in the active manager's blade.toml)", code: 409))
        }
        let cluster = coordinator.engineState().cluster
        if action.interruptsBlade {
            if slotID == config.blade.slot && !handOver {
                return reply(.failure("slot \(slotID) holds the active manager (\(config.blade.name)): hand over first, or ask again with the hand-over", code: 409))
            }
            if slotID == config.blade.slot && !(cluster?.members ?? []).contains(where: { $0.role == .standby && $0.slotID != nil }) {
                return reply(.failure("slot \(slotID) holds the active manager and no other blade is up to take over", code: 409))
            }
            if let problem = PowerGuard.majorityProblem(members: cluster?.members ?? [], slotID: slotID, action: action,
                                                        fenceConfirms: config.cluster.fenceCommand != nil) {
                return reply(.failure(problem, code: 409))
            }
        } else if handOver {
            return reply(.failure("a hand-over goes only with an action that stops the blade", code: 400))
        }
        coordinator.propose(.audited(request, actor: actor, at: now)) { [weak self] response in
            guard let self, response.ok, handOver, slotID == self.config.blade.slot else { return reply(response) }
            // Recorded: now the next active manager carries it out, this blade never does.
            var handed = self.coordinator.handOver(to: nil)
            if handed.ok { handed.id = response.id }
            reply(handed)
        }
    }

    /// Proposes an entry of the event log (on the active manager).
    func proposeEvent(_ kind: ChassisEvent.Kind, severity: EventSeverity = .info, slotID: Int?, message: String, now: Double) {
        coordinator.propose(.event(kind: kind, severity: severity, slotID: slotID, message: message, at: now)) { [weak self] response in
            if !response.ok {
                self?.logger.warning("event not committed", metadata: ["kind": "\(kind.rawValue)", "error": "\(response.error ?? "")"])
            }
        }
    }

    // MARK: The replicated state machine

    /// Applies one committed command to the store, the same way on every blade. Runs inside the
    /// transaction that records the entry as applied.
    func apply(_ command: ClusterCommand, index: Int) throws -> ControlResponse {
        try store.refusingConstraintViolations({ try applyUnchecked(command, index: index) }) { error in
            logger.error("the store refused a committed command", metadata: ["index": "\(index)", "error": "\(error)"])
            return .failure("the store refused the change: \(error.message)", code: 400)
        }
    }

    private func applyUnchecked(_ command: ClusterCommand, index: Int) throws -> ControlResponse {
        let response: ControlResponse
        switch command {
        case .control(let request, let time):
            response = try applyAudited(request, actor: .console(uid: nil, pid: nil), at: time)
        case .audited(let request, let actor, let time):
            response = try applyAudited(request, actor: actor, at: time)
        case .auditEvent(let record):
            try store.appendAudit(record)
            response = ControlResponse(ok: true)
        case .setCertificateAuthority(let certificate, let sealedKey, let time):
            guard try store.setting(CertificateSettings.authorityCertificate) == nil else {
                return .failure("the chassis already has a certificate authority", code: 409)
            }
            try store.setSetting(CertificateSettings.authorityCertificate, certificate)
            try store.setSetting(CertificateSettings.authoritySealedKey, sealedKey)
            try store.appendAudit(AuditRecord(id: 0, at: time, actor: "engine", role: "", address: config.blade.address,
                                              via: "engine", action: "certificates.authority.create", target: "chassis",
                                              old: nil, new: nil))
            certificatesChanged()
            response = ControlResponse(ok: true)
        case .raiseAlert(let slotID, let key, let label, let severity, let message, let value, let time):
            let id = try store.raiseAlert(slotID: slotID, metricKey: key, metricLabel: label, severity: severity,
                                          message: message, value: value, at: time)
            openAlerts["\(slotID ?? 0)/\(key)"] = severity
            logger.notice("alert raised", metadata: ["id": "\(id)", "severity": "\(severity.rawValue)", "message": "\(message)"])
            eventsChanged()
            response = ControlResponse(ok: true, id: id)
        case .clearAlert(let slotID, let key, let time):
            try store.clearAlert(slotID: slotID, metricKey: key, at: time)
            openAlerts["\(slotID ?? 0)/\(key)"] = nil
            logger.notice("alert cleared", metadata: ["key": "\(key)", "slot": "\(slotID ?? 0)"])
            eventsChanged()
            response = ControlResponse(ok: true)
        case .member(let name, let memberID, let address, let slot, let port, let priority, let witness):
            try store.upsertMember(MemberRecord(name: name, memberID: memberID, address: address, slotID: slot, port: port,
                                                priority: priority, witness: witness))
            if let slot { try store.registerBlade(slotID: slot, name: name, address: address) }
            coordinator.refreshEndpoints()
            response = ControlResponse(ok: true)
        case .dropMember(let name):
            try store.deleteMember(name: name)
            coordinator.refreshEndpoints()
            response = ControlResponse(ok: true)
        case .recordModule(let slotID, let module, let time):
            guard (1...config.chassis.slots).contains(slotID) else { return .failure("no slot \(slotID)", code: 404) }
            let previous = moduleSerials[slotID]
            if try store.recordModule(slotID: slotID, module: module, at: time) {
                logger.notice("module installed", metadata: ["slot": "\(slotID)", "serial": "\(module.serial)"])
                if let previous {
                    try store.appendEvent(kind: .moduleReplaced, severity: .warning, slotID: slotID,
                                          message: "module \(previous) replaced by \(module.model) \(module.serial)", at: time)
                } else {
                    try store.appendEvent(kind: .moduleInserted, severity: .info, slotID: slotID,
                                          message: "module \(module.model) \(module.serial) inserted", at: time)
                }
                eventsChanged()
            }
            moduleSerials[slotID] = module.serial
            moduleModels[slotID] = module.model
            response = ControlResponse(ok: true)
        case .event(let kind, let severity, let slotID, let message, let time):
            try store.appendEvent(kind: kind, severity: severity, slotID: slotID, message: message, at: time)
            eventsChanged()
            response = ControlResponse(ok: true)
        case .maintenanceEnded(let id, let time):
            if try store.endMaintenance(id: id, at: time) { eventsChanged() }
            response = ControlResponse(ok: true)
        case .acknowledgementLapsed(let id, let time):
            if try store.lapseAcknowledgement(id: id, at: time) { eventsChanged() }
            response = ControlResponse(ok: true)
        case .notificationProgress(let target, let eventID):
            try NotificationService.applyProgress(target: target, eventID: eventID, store: store)
            response = ControlResponse(ok: true)
        case .powerStarted(let id, let by, let attempt, let time):
            guard try store.startPower(id: id, by: by, attempt: attempt, at: time) else {
                return .failure("power action \(id) is unknown or finished", code: 409)
            }
            try reloadPower()
            response = ControlResponse(ok: true, id: id)
        case .powerFinished(let id, let state, let exitStatus, let output, let time):
            guard let record = try store.finishPower(id: id, state: state, exitStatus: exitStatus, output: output, at: time) else {
                return .failure("power action \(id) is unknown or finished", code: 409)
            }
            // The result goes to the audit log under the name of who asked.
            try store.appendAudit(AuditRecord(
                id: 0, at: time, actor: record.requestedBy, role: "", address: record.startedBy ?? "", via: "active manager",
                action: "power.result", target: "slot \(record.slotID) power",
                old: nil, new: Self.json(["action": record.action.rawValue, "state": state.rawValue,
                                          "exitStatus": exitStatus.map(String.init) ?? "", "output": record.output])))
            logger.notice("power action finished", metadata: ["id": "\(id)", "slot": "\(record.slotID)",
                                                              "action": "\(record.action.rawValue)", "state": "\(state.rawValue)"])
            try reloadPower()
            eventsChanged()
            powerChanged()
            response = ControlResponse(ok: true, id: id)
        }
        return response
    }

    func applyControl(_ request: ControlRequest, actor: Actor, at time: Double) throws -> ControlResponse {
        switch request {
        case .power(let slotID, let action, _):
            guard (1...config.chassis.slots).contains(slotID) else { return .failure("no slot \(slotID)", code: 404) }
            guard let id = try store.requestPower(slotID: slotID, action: action, by: actor.user, at: time) else {
                return .failure("\(PowerActionRecord.pendingMax) power actions wait already: try again when they are done", code: 409)
            }
            logger.notice("power action asked", metadata: ["id": "\(id)", "slot": "\(slotID)", "action": "\(action.rawValue)",
                                                           "by": "\(actor.user)"])
            try reloadPower()
            eventsChanged()
            powerChanged()
            return ControlResponse(ok: true, id: id)
        case .ping, .handOver, .addMember, .removeMember, .testNotifications:
            return ControlResponse(ok: true)
        case .addUser, .updateUser, .removeUser, .createToken, .revokeToken, .endSession, .recordLogin, .liftLoginLock:
            return try applyAccess(request, at: time)
        case .setThreshold(let rule):
            // A new rule (not one replacing another of the same scope and key) past the bound is refused.
            let existing = try store.loadThresholds()
            let replaces = existing.contains { $0.id == rule.id || ($0.scope == rule.scope && $0.metricKey == rule.metricKey) }
            guard replaces || existing.count < ThresholdRule.countMax else {
                return .failure("the chassis holds at most \(ThresholdRule.countMax) threshold rules: remove one first", code: 409)
            }
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
            if let role = moduleType?.role { slotRoles[slotID] = role }
            if let expected = moduleType?.expectedModel { expectedModels[slotID] = expected }
            return ControlResponse(ok: true)
        case .acknowledgeAlert(let id, let by, let comment, let until):
            if let until, until <= time { return .failure("until must be later than now", code: 400) }
            guard try store.acknowledgeAlert(id: id, by: by, comment: comment, until: until, at: time) else {
                return .failure("no alert \(id)", code: 404)
            }
            eventsChanged()
            return ControlResponse(ok: true, id: id)
        case .setNotifications(let targets):
            try NotificationService.apply(targets, store: store)
            notifications?.reload()
            eventsChanged()
            return ControlResponse(ok: true)
        case .addMaintenance(let slotID, let startsAt, let endsAt, let reason, let by):
            if let slotID, slotID > config.chassis.slots { return .failure("no slot \(slotID)", code: 404) }
            let window = MaintenanceWindow(id: 0, slotID: slotID, startsAt: startsAt, endsAt: endsAt, reason: reason, createdBy: by)
            guard let id = try store.addMaintenance(window, at: time) else {
                return .failure("the chassis already holds \(MaintenanceWindow.countMax) maintenance windows", code: 409)
            }
            eventsChanged()
            return ControlResponse(ok: true, id: id)
        case .removeMaintenance(let id):
            guard try store.removeMaintenance(id: id, at: time) else { return .failure("no maintenance window \(id)", code: 404) }
            eventsChanged()
            return ControlResponse(ok: true, id: id)
        case .setSlotAffinity(let slotID, let affinity):
            guard slotID <= config.chassis.slots, try store.setSlotAffinity(slotID: slotID, affinity: affinity) else {
                return .failure("no slot \(slotID)", code: 404)
            }
            slotAffinities = try store.slotAffinities()
            return ControlResponse(ok: true)
        case .approveModule(let slotID, let serial):
            guard try store.approveModule(slotID: slotID, serial: serial, at: time) else {
                return .failure("slot \(slotID) does not hold module \(serial)", code: 409)
            }
            slotAffinities = try store.slotAffinities()
            eventsChanged()
            return ControlResponse(ok: true)
        case .setReplication(let group, let members):
            let key = ReplicationPolicy.settingPrefix + group.rawValue
            if let members { try store.setSetting(key, ReplicationPolicy.encodeList(members)) } else { try store.removeSetting(key) }
            try reloadReplication()
            // Every blade sends everything once more, so that members now included have it all.
            sendFullBatchesNext()
            return ControlResponse(ok: true)
        case .setInterval(let group, let intervalMs):
            try store.setSetting(group.intervalSettingKey, String(intervalMs))
            if intervalsMs[group] != intervalMs {
                intervalsMs[group] = intervalMs
                reschedule(group)
            }
            return ControlResponse(ok: true)
        }
    }
}

extension BladeEngine {
    /// The engine's own counters as local metrics (never replicated), so that `/metrics` shows
    /// dropped peer frames, refused consensus messages and collector failures.
    func recordCounters(now: Double) {
        let (transport, core, malformedPayloads) = coordinator.counters
        func counter(_ key: String, _ name: String, _ labels: [String: String], _ value: Int, _ label: String) -> Reading {
            Reading(descriptor: MetricDescriptor(key: key, label: label, metricClass: .performance, unit: "count",
                                                 source: "engine", replication: .local, group: .system,
                                                 component: "engine", prometheusName: name, prometheusLabels: labels),
                    value: Double(value))
        }
        var readings: [Reading] = []
        let dropped = "chassis_peer_frames_dropped_total"
        if let transport {
            readings += [
                counter("engine.peer.dropped.forged", dropped, ["reason": "forged"], transport.forged, "Peer frames forged"),
                counter("engine.peer.dropped.replayed", dropped, ["reason": "replayed"], transport.replayed, "Peer frames replayed"),
                counter("engine.peer.dropped.oversized", dropped, ["reason": "oversized"], transport.oversized, "Peer frames oversized"),
                counter("engine.peer.dropped.malformed", dropped, ["reason": "malformed"], transport.malformed + malformedPayloads,
                        "Peer frames malformed"),
                counter("engine.peer.dropped.unknown_sender", dropped, ["reason": "unknown_sender"], transport.unknownSender,
                        "Peer frames from non-members"),
                counter("engine.peer.dropped.queue_full", dropped, ["reason": "queue_full"], transport.queueDrops,
                        "Peer frames dropped unsent"),
                counter("engine.peer.refused.address", "chassis_peer_connections_refused_total", ["reason": "address"],
                        transport.refusedAddress, "Peer connections from non-members' addresses"),
                counter("engine.peer.refused.cap", "chassis_peer_connections_refused_total", ["reason": "cap"],
                        transport.refusedOverCap, "Peer connections beyond the cap"),
                counter("engine.peer.refused.unauthenticated", "chassis_peer_connections_refused_total", ["reason": "unauthenticated"],
                        transport.unauthenticated, "Peer connections with no authenticated frame in time"),
                counter("engine.peer.received", "chassis_peer_frames_received_total", [:], transport.framesReceived, "Peer frames received"),
                counter("engine.peer.sent", "chassis_peer_frames_sent_total", [:], transport.framesSent, "Peer frames sent"),
                counter("engine.peer.bytes_sent", "chassis_peer_bytes_sent_total", [:], transport.bytesSent, "Peer bytes sent"),
                counter("engine.peer.bytes_received", "chassis_peer_bytes_received_total", [:], transport.bytesReceived,
                        "Peer bytes received"),
            ]
        }
        let refused = "chassis_consensus_messages_rejected_total"
        readings += [
            counter("engine.consensus.stepped", "chassis_consensus_messages_stepped_total", [:], core.messagesStepped,
                    "Consensus messages stepped"),
            counter("engine.consensus.rejected.malformed", refused, ["reason": "malformed"], core.rejectedMalformed,
                    "Consensus messages malformed"),
            counter("engine.consensus.rejected.stale_term", refused, ["reason": "stale_term"], core.rejectedStaleTerm,
                    "Consensus messages from an older term"),
            counter("engine.consensus.rejected.non_member", refused, ["reason": "non_member"], core.rejectedNonMember,
                    "Consensus messages from non-members"),
            counter("engine.consensus.rejected.impossible", refused, ["reason": "impossible"], core.rejectedImpossible,
                    "Consensus messages with impossible indexes"),
            counter("engine.consensus.rejected.misaddressed", refused, ["reason": "misaddressed"], core.rejectedMisaddressed,
                    "Consensus messages misaddressed"),
            counter("engine.consensus.rejected.wrong_sender", refused, ["reason": "wrong_sender"], core.rejectedWrongSender,
                    "Consensus messages claiming another sender"),
            counter("engine.samples.failed", "chassis_engine_sample_failures_total", [:], sampleFailures, "Sample failures"),
            counter("engine.batches.received", "chassis_replication_batches_received_total", [:], batchesReceived,
                    "Metrics batches received"),
        ]
        guard config.blade.slot > 0 else { return }
        do {
            try store.record(slotID: config.blade.slot,
                             readings: readings.map { StoreWriter.EvaluatedReading(reading: $0, status: .ok) }, at: now)
        } catch {
            logger.error("cannot record engine counters", metadata: ["error": "\(error)"])
        }
    }
}
