import ChassisKeys
import Config
import Control
import Crypto
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Model
import NIOCore
import Notifications
import Store
import Plumbing

/// Tells the world outside the chassis what its event log says: run by the active manager only,
/// on its event loop, with each target's sending on a queue of its own so that a slow mail
/// server delays nobody else.
///
/// The queue of a target is the replicated event log after the target's position, and the
/// position is a command of the log (`notificationProgress`) once the events are delivered: a new
/// active manager resumes from there, so every event is sent at least once, and a receiver drops
/// repeats by the notice's stable id. The log keeps its newest `ChassisEvent.recordsMax` events:
/// a target away for longer loses the oldest, counted as dropped. Failures are retried with
/// back-off (1 s doubling to 60 s) and counted for `/metrics` and the manager page.
///
/// Alertmanager wants state rather than changes: it gets every open alert and those cleared in
/// the last ten minutes, at once when something changed and every 30 s besides.
final class NotificationService {
    /// Delivery counters and the last outcome of each target (local to this blade).
    struct TargetStatus: Sendable {
        var kind: String
        var sent = 0
        var failed = 0
        var dropped = 0
        var lastError: String?
        var lastSuccessAt: Double?
        var lastFailureAt: Double?
    }

    static let setting = "notifications"
    static let positionPrefix = "notify.position."
    static let batchMax = MailMessage.digestMax
    static let backoffMaxSeconds = 60.0

    let config: BladeConfig
    let store: StoreWriter
    let loop: EventLoop
    let logger: Logger
    private let sealingKey: SymmetricKey
    private(set) var targets = NotificationTargets()
    private var positions: [String: Int64] = [:]
    private(set) var statuses: [String: TargetStatus] = [:]
    private var inFlight: Set<String> = []
    private var failures: [String: Int] = [:]
    private var nextAttemptAt: [String: Double] = [:]
    private var alertmanagerSentAt: [String: Double] = [:]
    private var alertmanagerSeenEvent: [String: Int64] = [:]
    private var queues: [String: DispatchQueue] = [:]
    private var wasActive = false
    var isActive: () -> Bool = { false }
    var propose: (ClusterCommand, @escaping (ControlResponse) -> Void) -> Void = { _, _ in }

    private let clock: HostClock

    init(config: BladeConfig, store: StoreWriter, rootSecret: [UInt8], loop: EventLoop, logger: Logger, clock: HostClock) {
        self.clock = clock
        self.config = config
        self.store = store
        self.loop = loop
        self.logger = logger
        sealingKey = SealedSecret.derivedKey(clusterKey: rootSecret, purpose: SealedSecret.notificationPurpose)
        reload()
    }

    /// Each target's delivery, for the published cluster view.
    var published: [NotificationStatus] {
        targets.ids.map { id in
            let status = statuses[id] ?? TargetStatus(kind: "")
            return NotificationStatus(target: id, sent: status.sent, failed: status.failed, dropped: status.dropped,
                                      lastError: status.lastError, lastSuccessAt: status.lastSuccessAt,
                                      lastFailureAt: status.lastFailureAt)
        }
    }

    /// Re-reads the targets and positions the log changed.
    func reload() {
        do {
            if let text = try store.setting(Self.setting) {
                targets = try JSONDecoder().decode(NotificationTargets.self, from: Data(text.utf8))
            } else {
                targets = NotificationTargets()
            }
            for id in targets.ids {
                if let text = try store.setting(Self.positionPrefix + id), let stored = Int64(text) {
                    positions[id] = max(positions[id] ?? 0, stored)
                }
                if statuses[id] == nil { statuses[id] = TargetStatus(kind: String(id.prefix { $0 != "-" })) }
            }
            let ids = Set(targets.ids)
            statuses = statuses.filter { ids.contains($0.key) }
            positions = positions.filter { ids.contains($0.key) }
        } catch {
            logger.error("cannot read the notification targets", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Changes of the targets (from the control socket, before the log)

    /// Seals passwords given in clear and keeps the sealed password of a login given again
    /// without one; refuses a sealed password from outside.
    func prepare(_ given: NotificationTargets) throws -> NotificationTargets {
        var prepared = given
        var generator = SystemRandomNumberGenerator()
        for index in prepared.email.indices {
            var target = prepared.email[index]
            if target.sealedPassword != nil { throw PrepareError("email[\(index)].sealedPassword is set by the engine, not given") }
            if let password = target.password {
                target.sealedPassword = try SealedSecret.seal(Array(password.utf8), key: sealingKey, using: &generator)
                target.password = nil
            } else if target.username != nil {
                target.sealedPassword = targets.email.first { $0.sameLogin(as: target) }?.sealedPassword
            }
            prepared.email[index] = target
        }
        return prepared
    }

    struct PrepareError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Applies a committed change of the targets: stores them, starts new targets at the newest
    /// event (a new target is not sent the history), forgets the positions of removed ones.
    static func apply(_ targets: NotificationTargets, store: StoreWriter) throws {
        let text = String(decoding: try JSONEncoder().encode(targets), as: UTF8.self)
        try store.setSetting(setting, text)
        let last = try store.lastEventID()
        let ids = Set(targets.ids)
        for id in ids where try store.setting(positionPrefix + id) == nil {
            try store.setSetting(positionPrefix + id, String(last))
        }
        for key in try store.settingKeys(prefix: positionPrefix) where !ids.contains(String(key.dropFirst(positionPrefix.count))) {
            try store.removeSetting(key)
        }
    }

    /// Applies a committed position: it only moves forward.
    static func applyProgress(target: String, eventID: Int64, store: StoreWriter) throws {
        let key = positionPrefix + target
        guard let current = try store.setting(key).flatMap(Int64.init) else { return } // a removed target
        if eventID > current { try store.setSetting(key, String(eventID)) }
    }

    // MARK: Sending

    /// One pass: called on the loop after events were appended and twice a second.
    func tick(now: Double) {
        let active = isActive()
        defer { wasActive = active }
        guard active else { return }
        if !wasActive {
            // A new active manager re-asserts every open alert at once and retries at once.
            alertmanagerSentAt = [:]
            nextAttemptAt = [:]
            reload()
        }
        guard !targets.isEmpty else { return }
        let lastEvent: Int64
        do { lastEvent = try store.lastEventID() } catch {
            logger.error("cannot read the event log", metadata: ["error": "\(error)"])
            return
        }
        for target in targets.alertmanager where ready(target.id, now: now) {
            let due = now - (alertmanagerSentAt[target.id] ?? 0) >= AlertmanagerAlerts.resendSeconds
            guard due || (alertmanagerSeenEvent[target.id] ?? 0) < lastEvent else { continue }
            sendAlertmanager(target, lastEvent: lastEvent, now: now)
        }
        for target in targets.syslog where ready(target.id, now: now) {
            sendEvents(target.id, minimum: target.minimumSeverity, lastEvent: lastEvent, now: now) { notices in
                let hostname = self.config.blade.name
                let messages = notices.map { SyslogMessage.render($0, facility: target.facility, hostname: hostname) }
                return { NotificationDelivery.syslog(target, messages: messages) }
            }
        }
        for target in targets.email where ready(target.id, now: now) {
            let password = openPassword(target)
            sendEvents(target.id, minimum: target.minimumSeverity, lastEvent: lastEvent, now: now) { notices in
                let message = MailMessage.render(notices, from: target.from, to: target.to, at: now)
                let runtimeDir = self.config.paths.runtimeDir
                return { NotificationDelivery.email(target, password: password, message: message, runtimeDir: runtimeDir) }
            }
        }
        for target in targets.hooks where ready(target.id, now: now) {
            sendEvents(target.id, minimum: target.minimumSeverity, lastEvent: lastEvent, now: now, batchMax: 10) { notices in
                return {
                    for notice in notices {
                        if let problem = NotificationDelivery.hook(target, notice: notice) { return "event \(notice.id): \(problem)" }
                    }
                    return nil
                }
            }
        }
    }

    private func ready(_ id: String, now: Double) -> Bool {
        !inFlight.contains(id) && now >= (nextAttemptAt[id] ?? 0)
    }

    private func openPassword(_ target: EmailTarget) -> String? {
        guard let sealed = target.sealedPassword else { return nil }
        do {
            return String(decoding: try SealedSecret.open(sealed, key: sealingKey), as: UTF8.self)
        } catch {
            logger.error("the mail target's password does not open with this chassis' key", metadata: ["target": "\(target.id)"])
            return nil
        }
    }

    /// Sends the events after the target's position that reach its severity, in one delivery.
    private func sendEvents(_ id: String, minimum: EventSeverity, lastEvent: Int64, now: Double, batchMax: Int = batchMax,
                            deliver: ([Notice]) -> () -> String?) {
        let position = positions[id] ?? lastEvent
        guard position < lastEvent else { return }
        let events: [ChassisEvent]
        let context: NoticeContext
        do {
            events = try store.events(after: position, limit: batchMax)
            context = try NoticeContext(store: store, config: config)
        } catch {
            logger.error("cannot read the event log", metadata: ["error": "\(error)"])
            return
        }
        if let first = events.first, first.id > position + 1 {
            statuses[id]?.dropped += Int(first.id - position - 1)
            logger.warning("notifications dropped: the event log no longer holds them",
                           metadata: ["target": "\(id)", "count": "\(first.id - position - 1)"])
        }
        guard let upTo = events.last?.id else { return }
        // An alert's change in a maintenance window is held: the window's end names what is still open.
        let windows = (try? store.maintenanceWindows().map(\.window)) ?? []
        let notices = events.filter { event in
            event.severity >= minimum && !(event.alertID != nil && windows.covers(slotID: event.slotID, at: event.at))
        }.map(context.notice)
        guard !notices.isEmpty else {
            advance(id, to: upTo)
            return
        }
        run(id, now: now, work: deliver(notices)) { [weak self] in
            self?.statuses[id]?.sent += notices.count
            self?.advance(id, to: upTo)
        }
    }

    private func sendAlertmanager(_ target: AlertmanagerTarget, lastEvent: Int64, now: Double) {
        let body: [UInt8]
        do {
            let context = try NoticeContext(store: store, config: config)
            let windows = try store.maintenanceWindows().map(\.window)
            let alerts = try store.alertsOpenOrClearedSince(now - AlertmanagerAlerts.clearedResendSeconds)
                .filter { EventSeverity($0.severity) >= target.minimumSeverity && !windows.covers(slotID: $0.slotID, at: now) }
            body = try AlertmanagerAlerts.body(alerts, context: context.alertmanager, now: now)
        } catch {
            logger.error("cannot build the alerts for Alertmanager", metadata: ["error": "\(error)"])
            return
        }
        run(target.id, now: now, work: { NotificationDelivery.alertmanager(target, body: body) }) { [weak self] in
            self?.statuses[target.id]?.sent += 1
            self?.alertmanagerSentAt[target.id] = now
            self?.alertmanagerSeenEvent[target.id] = lastEvent
        }
    }

    /// Runs a delivery on the target's queue; back on the loop, counts it and backs off on failure.
    private func run(_ id: String, now: Double, work: @escaping () -> String?, delivered: @escaping () -> Void) {
        inFlight.insert(id)
        let queue = queues[id] ?? DispatchQueue(label: "chassis.notify.\(id)")
        queues[id] = queue
        queue.async { [loop] in
            let problem = work()
            loop.execute { [weak self] in
                guard let self else { return }
                self.inFlight.remove(id)
                let finished = self.clock.wallSeconds()
                if let problem {
                    let count = (self.failures[id] ?? 0) + 1
                    self.failures[id] = count
                    self.nextAttemptAt[id] = finished + min(Self.backoffMaxSeconds, Double(1 << min(count - 1, 6)))
                    self.statuses[id]?.failed += 1
                    self.statuses[id]?.lastError = problem
                    self.statuses[id]?.lastFailureAt = finished
                    self.logger.warning("notification not delivered",
                                        metadata: ["target": "\(id)", "attempt": "\(count)", "error": "\(problem)"])
                } else {
                    self.failures[id] = nil
                    self.nextAttemptAt[id] = nil
                    self.statuses[id]?.lastSuccessAt = finished
                    delivered()
                    // What arrived while this delivery ran goes now, not at the next timer.
                    self.tick(now: finished)
                }
            }
        }
    }

    /// Moves a target's position here at once, and through the log for the next active manager.
    private func advance(_ id: String, to eventID: Int64) {
        guard eventID > (positions[id] ?? 0) else { return }
        positions[id] = eventID
        propose(.notificationProgress(target: id, eventID: eventID)) { [weak self] response in
            if !response.ok {
                self?.logger.debug("notification position not committed", metadata: ["target": "\(id)", "error": "\(response.error ?? "")"])
            }
        }
    }

    // MARK: Test

    /// Sends a test notice to every target now (off the loop) and reports each outcome.
    func test(now: Double, reply: @escaping (ControlResponse) -> Void) {
        guard !targets.isEmpty else { return reply(.failure("no notification targets are set", code: 409)) }
        let context: NoticeContext
        do { context = try NoticeContext(store: store, config: config) } catch {
            return reply(.failure("cannot read the chassis: \(error)", code: 500))
        }
        let event = ChassisEvent(id: 0, at: now, kind: .alertRaised, severity: .warning, slotID: nil, alertID: nil,
                                 metricKey: "notification.test", message: "a test of the notification targets, sent by \(config.blade.name)")
        let notice = context.notice(event)
        let targets = self.targets
        let hostname = config.blade.name
        let runtimeDir = config.paths.runtimeDir
        let passwords = targets.email.map(openPassword)
        let testAlert = Alert(id: 0, slotID: nil, metricKey: "notification.test", metricLabel: "Notification test", severity: .warning,
                              message: event.message, value: nil, raisedAt: now, clearedAt: now + 60, acknowledgedAt: nil,
                              acknowledgedBy: nil)
        let alertmanagerBody = (try? AlertmanagerAlerts.body([testAlert], context: context.alertmanager, now: now)) ?? []
        DispatchQueue.global().async { [loop] in
            var lines: [String] = []
            func note(_ id: String, _ what: String, _ problem: String?) {
                lines.append("\(id) \(what): " + (problem.map { "FAILED: \($0)" } ?? "ok"))
            }
            for target in targets.alertmanager {
                note(target.id, target.url, NotificationDelivery.alertmanager(target, body: alertmanagerBody))
            }
            for target in targets.syslog {
                note(target.id, "\(target.transport.rawValue)://\(target.host):\(target.port)",
                     NotificationDelivery.syslog(target, messages: [SyslogMessage.render(notice, facility: target.facility, hostname: hostname)]))
            }
            for (index, target) in targets.email.enumerated() {
                let message = MailMessage.render([notice], from: target.from, to: target.to, at: now)
                note(target.id, "\(target.server) → \(target.to.joined(separator: ", "))",
                     NotificationDelivery.email(target, password: passwords[index], message: message, runtimeDir: runtimeDir))
            }
            for target in targets.hooks {
                note(target.id, target.command, NotificationDelivery.hook(target, notice: notice))
            }
            let ok = !lines.contains { $0.contains(": FAILED: ") }
            loop.execute { reply(ControlResponse(ok: ok, error: ok ? nil : "some targets failed", code: ok ? 200 : 502, report: lines)) }
        }
    }
}

/// What a notice needs besides its event: the chassis and the modules in the slots.
struct NoticeContext {
    var chassisID: String
    var chassisName: String
    var modules: [Int: String]
    var baseURL: String?

    init(store: StoreWriter, config: BladeConfig) throws {
        let chassis = try store.exportChassis()
        chassisID = chassis?.chassisID ?? config.chassis.id
        chassisName = chassis?.name ?? config.chassis.name
        modules = try store.currentModuleSerials()
        baseURL = config.publicURL(address: config.blade.address)
    }

    func notice(_ event: ChassisEvent) -> Notice {
        Notice(event: event, chassisID: chassisID, chassisName: chassisName, module: event.slotID.flatMap { modules[$0] },
               link: baseURL.map { "\($0)/alerts?slot=\(event.slotID ?? 0)&state=all" })
    }

    var alertmanager: AlertmanagerAlerts.Context {
        AlertmanagerAlerts.Context(chassisID: chassisID, chassisName: chassisName, modules: modules, baseURL: baseURL)
    }
}
