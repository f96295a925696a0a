import Access
import AgentX
import ChassisMIB
import Config
import Logging
import Model
import Store
import Plumbing
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The chassis' objects per context, rebuilt from the store when it changes.
struct Tables {
    /// nil key: the default context (operators); a customer's user name: its context.
    var byContext: [String?: MIBTable] = [:]
    var snapshot: ChassisSnapshot?
}

/// chassis-snmp's work: one AgentX session at a time with snmpd, answering from tables built from
/// this blade's store (read-only), and, on the active manager only, notifications. The session is
/// opened again after the master goes away (snmpd restarted) or sends anything malformed.
final class Subagent {
    let config: BladeConfig
    let logger: Logger
    let reader: StoreReader
    var tables = Tables()
    var planner = TrapPlanner()
    var lastUsers: [String: AccessScope] = [:]
    var manager = ChassisMIB.Manager(activeName: "", activeAddress: "", term: 0, quorum: false, localName: "", localRole: .unknown)
    var active = false
    /// The entities as last seen, and snmpd's sysUpTime when they last changed (entLastChangeTime).
    var entitySignature: [String]?
    var entityLastChange: UInt32 = 0

    // The session.
    var connection: AgentXConnection?
    var sessionID: UInt32 = 0
    var packetID: UInt32 = 0
    /// The master's sysUpTime when last heard, and when (monotonic nanoseconds).
    var masterUpTime: (ticks: UInt32, at: UInt64) = (0, 0)
    var registered: Set<String> = []
    /// Requests of ours awaiting the master's response, by packet ID: what each was.
    var pending: [UInt32: String] = [:]

    init(config: BladeConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        reader = StoreReader(configDatabase: config.paths.configDatabase, metricsDatabase: config.paths.metricsDatabase,
                             staleAfterSeconds: config.web.staleAfterSeconds)
    }

    static func contextKey(_ context: String?) -> String { context.map { "customer:" + $0 } ?? "default" }

    func sysUpTime() -> UInt32 {
        let elapsed = (HostClock.system.monotonicNanoseconds() &- masterUpTime.at) / 10_000_000
        return masterUpTime.ticks &+ UInt32(truncatingIfNeeded: elapsed)
    }

    func nextPacketID() -> UInt32 {
        packetID &+= 1
        return packetID
    }

    // MARK: The store

    /// Reads the store again when it changed (or the role may have: every refresh reads the lease).
    func refresh() {
        do {
            let local = try reader.local()
            let cluster = try reader.cluster()
            active = local.leaseValid
            let current = ChassisMIB.Manager(activeName: cluster.active?.name ?? "", activeAddress: cluster.active?.address ?? "",
                                             term: cluster.term, quorum: cluster.quorum, localName: local.blade, localRole: local.role)
            let managerChanged = current != manager
            manager = current
            // The tables' snapshot carries the data version it was read at.
            if try reader.dataVersion() != tables.snapshot?.dataVersion {
                let snapshot = try reader.snapshot()
                let access = try reader.access()
                var users: [String: AccessScope] = [:]
                for (name, user) in access.users where user.role == .customer {
                    if let scope = user.scope, SNMPDConfig.isPlainWord(name) { users[name] = scope }
                }
                lastUsers = users
                rates = try readRates()
                rebuild(snapshot)
            } else if managerChanged, let snapshot = tables.snapshot {
                // The manager's objects move without a new data version (the lease board). The
                // timestamps need no rebuild: sysUpTime and a sample's age grow together.
                rebuild(snapshot)
            }
            if let snapshot = tables.snapshot {
                for event in planner.observe(alerts: snapshot.alerts, active: active, manager: manager, now: HostClock.system.wallSeconds()) {
                    notify(event, snapshot: snapshot)
                }
            }
        } catch {
            logger.warning("cannot read the store: \(error)")
        }
    }

    func rebuild(_ snapshot: ChassisSnapshot) {
        let clock = ChassisMIB.Clock(now: HostClock.system.wallSeconds(), sysUpTime: sysUpTime())
        let signature = ChassisMIB.entitySignature(snapshot)
        if let previous = entitySignature, previous != signature { entityLastChange = clock.sysUpTime }
        entitySignature = signature
        var byContext: [String?: MIBTable] = [nil: ChassisMIB.table(snapshot, manager: manager, clock: clock, updateRateMs: rates,
                                                                     entityLastChange: entityLastChange)]
        for (name, scope) in lastUsers {
            byContext[name] = ChassisMIB.table(CustomerView.project(snapshot, scope: scope), manager: nil, clock: clock, updateRateMs: rates,
                                               entityLastChange: entityLastChange)
        }
        tables = Tables(byContext: byContext, snapshot: snapshot)
    }

    /// Each group's sampling interval (entPhySensorValueUpdateRate): the replicated one when an
    /// operator set it, else this blade's configuration file's, as the web app shows it.
    var rates: [SamplingGroup: Int] = [:]

    func readRates() throws -> [SamplingGroup: Int] {
        try reader.intervals(fileMs: config.intervalsMs).mapValues(\.ms)
    }

    // MARK: The session

    /// Runs sessions until `stop` says so, connecting again after `reconnect_ms` when one ends.
    func run(stop: () -> Bool) {
        refresh()
        var announcedWaiting = false
        while !stop() {
            do {
                try open()
                announcedWaiting = false
                try serve(stop: stop)
            } catch {
                if connection != nil || !announcedWaiting {
                    logger.warning("AgentX session with \(config.snmp.agentxSocket) ended: \(error); connecting again every \(config.snmp.reconnectMs) ms")
                    announcedWaiting = true
                }
                connection = nil
                registered.removeAll()
                pending.removeAll()
            }
            var waitedMs = 0
            while !stop() && waitedMs < config.snmp.reconnectMs {
                usleep(50_000)
                waitedMs += 50
            }
            refresh()
        }
        if let connection {
            try? connection.write(PDU(sessionID: sessionID, packetID: nextPacketID(), payload: .close(.shutdown)))
        }
    }

    func open() throws {
        let connection = try AgentXConnection(path: config.snmp.agentxSocket)
        let openID = nextPacketID()
        try connection.write(PDU(sessionID: 0, packetID: openID,
                                 payload: .open(timeoutSeconds: 5, id: ChassisMIB.chassisManagerMIB, description: "chassis-snmp (Chassis Manager)")))
        guard connection.readable(milliseconds: 1_000) else { throw ConnectionError("the master agent did not answer the Open") }
        let answer = try connection.read()
        guard case let .response(upTime, error, _, _) = answer.payload, answer.packetID == openID else {
            throw ConnectionError("the master agent answered the Open with a \(answer.payload.type)")
        }
        guard error == .noError else { throw ConnectionError("the master agent refused the session: \(error)") }
        self.connection = connection
        sessionID = answer.sessionID
        masterUpTime = (upTime, HostClock.system.monotonicNanoseconds())
        logger.info("AgentX session \(sessionID) open with \(config.snmp.agentxSocket)")
        syncRegistrations()
        sendUnsent()
    }

    /// Registers the subtrees in every context served, and unregisters a context no longer served.
    func syncRegistrations() {
        guard let connection else { return }
        let wanted = Set(tables.byContext.keys.map(Self.contextKey))
        for context in tables.byContext.keys where !registered.contains(Self.contextKey(context)) {
            for subtree in ChassisMIB.subtrees {
                let id = nextPacketID()
                pending[id] = "register \(subtree) in \(Self.contextKey(context))"
                try? connection.write(PDU(sessionID: sessionID, packetID: id, context: context.map { Array($0.utf8) },
                                          payload: .register(timeoutSeconds: 0, priority: 127, subtree: subtree, rangeSubID: 0, upperBound: nil)))
            }
            registered.insert(Self.contextKey(context))
        }
        for key in registered.subtracting(wanted) {
            let context = key.hasPrefix("customer:") ? String(key.dropFirst("customer:".count)) : nil
            for subtree in ChassisMIB.subtrees {
                let id = nextPacketID()
                pending[id] = "unregister \(subtree) in \(key)"
                try? connection.write(PDU(sessionID: sessionID, packetID: id, context: context.map { Array($0.utf8) },
                                          payload: .unregister(priority: 127, subtree: subtree, rangeSubID: 0, upperBound: nil)))
            }
            registered.remove(key)
        }
    }

    /// Notifications decided while snmpd was away, sent once a session is open again (the oldest
    /// dropped beyond `unsentMax`, and any older than `unsentSeconds`: news that late misleads).
    var unsent: [(time: Double, event: TrapEvent, varBinds: [VarBind])] = []
    static let unsentMax = 100
    static let unsentSeconds = 60.0

    func notify(_ event: TrapEvent, snapshot: ChassisSnapshot) {
        let varBinds = ChassisMIB.notificationVarBinds(event, snapshot: snapshot, sender: manager.localName)
        guard !varBinds.isEmpty else { return }
        guard connection != nil else {
            logger.warning("not connected to snmpd: notification held until it is back: \(describe(event))")
            unsent.append((HostClock.system.wallSeconds(), event, varBinds))
            if unsent.count > Self.unsentMax { unsent.removeFirst(unsent.count - Self.unsentMax) }
            return
        }
        send(event, varBinds)
    }

    func send(_ event: TrapEvent, _ varBinds: [VarBind]) {
        guard let connection else { return }
        let id = nextPacketID()
        pending[id] = "notify"
        do {
            try connection.write(PDU(sessionID: sessionID, packetID: id, payload: .notify(varBinds)))
            logger.info("notification sent: \(describe(event))")
        } catch {
            logger.warning("notification not sent: \(error)")
        }
    }

    /// After a session opens: what was held meanwhile, if this blade is still the active manager.
    func sendUnsent() {
        let now = HostClock.system.wallSeconds()
        let held = unsent.filter { now - $0.time <= Self.unsentSeconds }
        unsent.removeAll()
        guard active else {
            if !held.isEmpty { logger.info("\(held.count) held notifications dropped: this blade is no longer the active manager") }
            return
        }
        for item in held { send(item.event, item.varBinds) }
    }

    func describe(_ event: TrapEvent) -> String {
        switch event {
        case let .alert(alert, cleared): return "alert \(alert.id) \(cleared ? "cleared" : "raised"): \(alert.message)"
        case let .managerChanged(manager, previous): return "active manager now \(manager.localName), term \(manager.term) (was \(previous))"
        }
    }

    func serve(stop: () -> Bool) throws {
        guard let connection else { return }
        var nextRefresh = HostClock.system.monotonicNanoseconds()
        let refreshNanoseconds = UInt64(config.snmp.refreshMs) * 1_000_000
        while !stop() {
            if connection.readable(milliseconds: 100) {
                let pdu: PDU
                do {
                    pdu = try connection.read()
                } catch let error as CodingError {
                    // A malformed PDU: say why, end the session; the next one starts clean.
                    try? connection.write(PDU(sessionID: sessionID, packetID: nextPacketID(), payload: .close(.parseError)))
                    throw error
                }
                try handle(pdu, connection: connection)
            }
            let now = HostClock.system.monotonicNanoseconds()
            if now >= nextRefresh {
                refresh()
                syncRegistrations()
                nextRefresh = now + refreshNanoseconds
            }
        }
    }

    func handle(_ pdu: PDU, connection: AgentXConnection) throws {
        switch pdu.payload {
        case let .response(upTime, error, _, _):
            masterUpTime = (upTime, HostClock.system.monotonicNanoseconds())
            let what = pending.removeValue(forKey: pdu.packetID) ?? "packet \(pdu.packetID)"
            if error != .noError { logger.warning("snmpd refused \(what): \(error)") }
        case let .close(reason):
            throw ConnectionError("the master agent closed the session (\(reason))")
        default:
            guard pdu.sessionID == sessionID else {
                throw ConnectionError("a PDU for session \(pdu.sessionID), not this session \(sessionID)")
            }
            let table = tables.byContext[pdu.contextName]
            if let answer = Responder.answer(pdu, sysUpTime: sysUpTime(), table: table) {
                try connection.write(answer)
            }
        }
    }
}
