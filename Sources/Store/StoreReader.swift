#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Model
import Plumbing
#if canImport(Glibc)
import Glibc
#endif

/// A read-only view of the state directory for the web app and `chassisctl`: one connection on
/// the configuration database with the metrics database attached, so that a snapshot is read in
/// one transaction. One reader per thread; it never writes.
public final class StoreReader {
    public let configDatabase: String
    public let metricsDatabase: String
    public let staleAfterSeconds: Double
    private var database: Database?
    /// Decoded descriptors by metric id, kept while their text is unchanged.
    private var descriptorCache: [Int64: (text: String, descriptor: MetricDescriptor)] = [:]
    private let decoder = JSONDecoder()
    /// data_version of both schemas when the generation token was last read.
    private var lastDataVersions: (Int64, Int64)?
    private var lastToken = ""
    private var lastCheckNanoseconds: UInt64 = 0
    /// How long a data version stays trusted without asking SQLite again.
    public let versionCheckIntervalNanoseconds: UInt64

    /// - Parameter versionCheckIntervalMs: the web app's readers check for new data at most this
    ///   often (25 ms: the engine writes about once a second); 0 checks on every call.
    public init(configDatabase: String, metricsDatabase: String, staleAfterSeconds: Double, versionCheckIntervalMs: Int = 0) {
        self.configDatabase = configDatabase
        self.metricsDatabase = metricsDatabase
        self.staleAfterSeconds = staleAfterSeconds
        self.versionCheckIntervalNanoseconds = UInt64(max(0, versionCheckIntervalMs)) * 1_000_000
    }

    static func uri(_ path: String) -> String {
        var escaped = ""
        for character in path {
            switch character {
            case "%": escaped += "%25"
            case "?": escaped += "%3f"
            case "#": escaped += "%23"
            default: escaped.append(character)
            }
        }
        return "file:" + escaped + "?mode=ro"
    }

    /// Opens on first use and again after a failure, so that a web app started before the engine
    /// (or across an engine restart) recovers by itself.
    private func connection() throws -> Database {
        if let database { return database }
        guard FileManager.default.fileExists(atPath: configDatabase), FileManager.default.fileExists(atPath: metricsDatabase) else {
            throw StoreError(code: 0, message: "the engine has not created the databases yet", context: "open")
        }
        let opened = try Database(path: StoreReader.uri(configDatabase), mode: .readOnly)
        try opened.statement("ATTACH DATABASE ? AS m").run([.text(StoreReader.uri(metricsDatabase))])
        // A small page cache per reader: the web app has one reader per worker thread, each
        // read of a new version is done by one of them, and the pages come from the tmpfs or the
        // kernel's cache anyway. SQLite's default (2 MB per schema) let a 16-blade active
        // manager's web app grow past 100 MB under load.
        try opened.execute("PRAGMA main.cache_size = -\(Self.pageCacheKiB); PRAGMA m.cache_size = -\(Self.pageCacheKiB)")
        database = opened
        lastDataVersions = nil
        return opened
    }

    /// The reader's connection for a query in another file of the module.
    func withDatabase<T>(_ body: (Database) throws -> T) throws -> T { try withConnection(body) }

    private func withConnection<T>(_ body: (Database) throws -> T) throws -> T {
        let database = try connection()
        do {
            return try body(database)
        } catch {
            // Drop the connection so the next call reopens (the files may have been replaced).
            self.database = nil
            descriptorCache.removeAll()
            throw error
        }
    }

    /// The next `dataVersion()` reads the databases whatever the time since the last check: after
    /// this process's own change went through the engine, the page it answers must show it.
    public func expectChange() {
        lastCheckNanoseconds = 0
        lastDataVersions = nil
    }

    /// A token that changes whenever either database changes: each database's epoch (new after a
    /// reboot wipes the tmpfs) and generation, read only when SQLite's data_version moved.
    public func dataVersion() throws -> String {
        // Under load, one check per reader every 25 ms is enough: the engine writes about once a
        // second, and each check costs two locked reads of the databases.
        let now = HostClock.system.monotonicNanoseconds()
        if lastDataVersions != nil, now &- lastCheckNanoseconds < versionCheckIntervalNanoseconds { return lastToken }
        lastCheckNanoseconds = now
        return try withConnection { database in
            let versions = (try database.scalarInt("PRAGMA main.data_version") ?? 0,
                            try database.scalarInt("PRAGMA m.data_version") ?? 0)
            if let last = lastDataVersions, last == versions { return lastToken }
            let statement = try database.statement("""
                SELECT c.epoch, c.generation, x.epoch, x.generation FROM main.meta c, m.meta x WHERE c.id = 1 AND x.id = 1
                """)
            var token = "none"
            if try statement.step() {
                token = "\(statement.string(0)).\(statement.int64(1))-\(statement.string(2)).\(statement.int64(3))"
            }
            statement.reset()
            lastDataVersions = versions
            lastToken = token
            return token
        }
    }

    /// Users, tokens, ended sessions and throttle counters, read in one transaction.
    public func access() throws -> AccessSnapshot {
        try withConnection { database in
            try database.transaction(immediate: false) { try AccessRows.snapshot(database) }
        }
    }

    /// One value of the replicated settings (`tls.ca.certificate` ...).
    public func setting(_ key: String) throws -> String? {
        try withConnection { database in
            let statement = try database.statement("SELECT value FROM main.settings WHERE key = ?")
            defer { statement.reset() }
            try statement.bind([.text(key)])
            return try statement.step() ? statement.string(0) : nil
        }
    }

    /// Every power and identify action kept, oldest first.
    public func powerActions() throws -> [PowerActionRecord] {
        try withConnection { try Self.readPowerActions($0) }
    }

    /// Every group's sampling interval as the chassis runs it: the replicated setting when an
    /// operator set one, else this blade's configuration file's (`fileMs`), else the default.
    public func intervals(fileMs: [SamplingGroup: Int]) throws -> [SamplingGroup: (ms: Int, fromChassis: Bool)] {
        var intervals: [SamplingGroup: (ms: Int, fromChassis: Bool)] = [:]
        for group in SamplingGroup.allCases {
            intervals[group] = group.interval(setting: try setting(group.intervalSettingKey), fileMs: fileMs[group])
        }
        return intervals
    }

    /// Audit records, newest first.
    public func audit(filter: AuditFilter, limit: Int) throws -> [AuditRecord] {
        try withConnection { database in try AccessRows.audit(database, filter: filter, limit: limit) }
    }

    // MARK: Snapshot

    public func snapshot() throws -> ChassisSnapshot {
        let version = try dataVersion()
        return try withConnection { database in
            try database.transaction(immediate: false) {
                try readSnapshot(database, version: version)
            }
        }
    }

    private struct SlotRow {
        var name: String
        var moduleType: ModuleType
        var affinity = SlotAffinity.slot
        var approvedSerial = ""
    }

    private func readSnapshot(_ database: Database, version: String) throws -> ChassisSnapshot {
        let now = HostClock.system.wallSeconds()
        var chassis = ChassisInfo(chassisID: "", name: "", site: "", row: "", rack: "", shelf: "", slotCount: 0, status: .unknown)
        let chassisRow = try database.statement("SELECT chassis_id, name, site, row, rack, shelf, slot_count FROM main.chassis WHERE id = 1")
        if try chassisRow.step() {
            chassis = ChassisInfo(chassisID: chassisRow.string(0), name: chassisRow.string(1), site: chassisRow.string(2),
                                  row: chassisRow.string(3), rack: chassisRow.string(4), shelf: chassisRow.string(5),
                                  slotCount: chassisRow.int(6), status: .unknown)
        }
        chassisRow.reset()

        var slotRows: [Int: SlotRow] = [:]
        let slots = try database.statement("""
            SELECT slot_id, name, role, function, expected_model, affinity, approved_serial FROM main.slots ORDER BY slot_id
            """)
        while try slots.step() {
            slotRows[slots.int(0)] = SlotRow(name: slots.string(1), moduleType: ModuleType(
                role: slots.string(2), function: slots.string(3), expectedModel: slots.string(4)),
                affinity: SlotAffinity(rawValue: slots.string(5)) ?? .slot, approvedSerial: slots.string(6))
        }

        var modules: [Int: [ModuleInfo]] = [:]
        let moduleRows = try database.statement("""
            SELECT slot_id, serial, model, revision, manufacturer, mac_addresses, ip_addresses, installed_at, removed_at
            FROM main.modules ORDER BY installed_at DESC, id DESC
            """)
        while try moduleRows.step() {
            let module = ModuleInfo(serial: moduleRows.string(1), model: moduleRows.string(2), revision: moduleRows.string(3),
                                    manufacturer: moduleRows.string(4), macAddresses: Self.list(moduleRows.string(5)),
                                    ipAddresses: Self.list(moduleRows.string(6)), installedAt: moduleRows.double(7),
                                    removedAt: moduleRows.optionalDouble(8))
            modules[moduleRows.int(0), default: []].append(module)
        }

        let rules = try Self.thresholdRules(from: try database.statement("""
            SELECT id, scope_kind, scope_value, metric_key, low_critical, low_warning, high_warning, high_critical,
                   hysteresis, minimum_duration_seconds FROM main.thresholds ORDER BY id
            """))

        var metricsBySlot: [Int: [MetricValue]] = [:]
        let values = try database.statement("""
            SELECT metrics.id, metrics.slot_id, metrics.descriptor, v.value, v.text, v.fault, v.sampled_at, v.status
            FROM m.metrics metrics JOIN m.current_values v ON v.metric_id = metrics.id
            ORDER BY metrics.slot_id, metrics.key
            """)
        var seen = Set<Int64>()
        while try values.step() {
            let id = values.int64(0)
            seen.insert(id)
            let slotID = values.int(1)
            let text = values.string(2)
            let descriptor: MetricDescriptor
            if let cached = descriptorCache[id], cached.text == text {
                descriptor = cached.descriptor
            } else {
                guard let decoded = try? decoder.decode(MetricDescriptor.self, from: Data(text.utf8)) else { continue }
                descriptorCache[id] = (text, decoded)
                descriptor = decoded
            }
            let rule = ThresholdEvaluator.effectiveRule(key: descriptor.key, slotID: slotID == 0 ? nil : slotID,
                                                         role: slotRows[slotID]?.moduleType.role, chassisID: chassis.chassisID,
                                                         hardware: descriptor.limits, rules: rules)
            metricsBySlot[slotID, default: []].append(MetricValue(
                descriptor: descriptor, value: values.optionalDouble(3), text: values.optionalString(4),
                fault: values.optionalString(5), sampledAt: values.double(6), thresholds: rule.limits,
                status: Status(rawValue: values.string(7)) ?? .unknown,
                thresholdSource: ThresholdEvaluator.source(of: rule, descriptorSource: descriptor.source)))
        }
        if descriptorCache.count > seen.count { descriptorCache = descriptorCache.filter { seen.contains($0.key) } }

        var reports: [Int: (last: Double?, down: Double?)] = [:]
        let blades = try database.statement("SELECT slot_id, last_report_at, down_since FROM m.blades")
        while try blades.step() {
            reports[blades.int(0)] = (blades.optionalDouble(1), blades.optionalDouble(2))
        }

        let alerts = try readAlerts(database, openOnly: true, limit: 200)
        let engine = try readFreshness(database, now: now)

        let powerBySlot = Dictionary(grouping: try Self.readPowerActions(database), by: \.slotID)
        var slotViews: [SlotView] = []
        for slotID in 1...max(1, chassis.slotCount) {
            let row = slotRows[slotID] ?? SlotRow(name: "", moduleType: ModuleType(role: "blade", function: "", expectedModel: ""))
            let history = modules[slotID] ?? []
            let current = history.first(where: { $0.removedAt == nil })
            let metrics = metricsBySlot[slotID] ?? []
            let report = reports[slotID]
            var status: Status
            if report?.down != nil {
                status = .down
            } else if current == nil && metrics.isEmpty {
                status = .unknown
            } else {
                status = metrics.map(\.status).filter { $0 != .unknown }.max() ?? .ok
            }
            let power = powerBySlot[slotID].map(SlotPower.derive)
            // Powered off by an operator: not a failure, whatever the last values said.
            if power?.powered == false { status = .off }
            if engine.stale && status < .unknown { status = .unknown }
            var view = SlotView(slotID: slotID, name: row.name, moduleType: row.moduleType, status: status,
                                module: current, history: history, metrics: metrics,
                                lastReportAt: report?.last, downSince: power?.powered == false ? nil : report?.down)
            view.power = power
            if row.affinity == .slotSerial { (view.affinity, view.approvedSerial) = (.slotSerial, row.approvedSerial) }
            slotViews.append(view)
        }
        let chassisMetrics = metricsBySlot[0] ?? []
        var statuses: [Status] = slotViews.map(\.status)
        statuses.append(contentsOf: chassisMetrics.map(\.status))
        // A blade that is down makes the chassis critical; an unknown one says nothing about it.
        let worst: Status = statuses.filter { $0 != .unknown && $0 != .off }.map { $0 == .down ? Status.critical : $0 }.max() ?? .ok
        chassis.status = engine.stale ? .unknown : worst
        return ChassisSnapshot(dataVersion: version, generatedAt: now, chassis: chassis, slots: slotViews,
                               chassisMetrics: chassisMetrics, alerts: alerts, engine: engine,
                               maintenance: try Self.readMaintenance(database, now: now))
    }

    static func list(_ text: String) -> [String] { text.split(separator: ",").map(String.init) }

    static func scopeColumns(_ scope: ThresholdScope) -> (String, String) {
        switch scope {
        case .global: return ("global", "")
        case .chassis(let id): return ("chassis", id)
        case .moduleType(let role): return ("module_type", role)
        case .slot(let slot): return ("slot", String(slot))
        }
    }

    static func thresholdRules(from statement: Statement) throws -> [ThresholdRule] {
        var rules: [ThresholdRule] = []
        while try statement.step() {
            let value = statement.string(2)
            let scope: ThresholdScope
            switch statement.string(1) {
            case "chassis": scope = .chassis(value)
            case "module_type": scope = .moduleType(value)
            case "slot": scope = .slot(Int(value) ?? -1)
            default: scope = .global
            }
            rules.append(ThresholdRule(
                id: statement.int64(0), scope: scope, metricKey: statement.string(3),
                limits: Limits(lowCritical: statement.optionalDouble(4), lowWarning: statement.optionalDouble(5),
                               highWarning: statement.optionalDouble(6), highCritical: statement.optionalDouble(7)),
                hysteresis: statement.double(8), minimumDurationSeconds: statement.double(9)))
        }
        return rules
    }

    private func readAlerts(_ database: Database, openOnly: Bool, limit: Int) throws -> [Alert] {
        let statement = try database.statement("""
            SELECT \(StoreReader.alertColumns) FROM main.alerts
            WHERE ? = 0 OR cleared_at IS NULL OR acknowledged_at IS NULL
            ORDER BY raised_at DESC, id DESC LIMIT ?
            """)
        try statement.bind([.integer(openOnly ? 1 : 0), .integer(Int64(limit))])
        var alerts: [Alert] = []
        while try statement.step() { alerts.append(Self.alert(statement)) }
        return alerts
    }

    /// The columns of an alert, in the order `alert(_:)` reads them.
    static let alertColumns = """
        id, slot_id, metric_key, metric_label, severity, message, value, raised_at, cleared_at, acknowledged_at, \
        acknowledged_by, acknowledged_comment, acknowledged_until
        """

    /// One row of `SELECT \(alertColumns) FROM alerts`.
    static func alert(_ statement: Statement) -> Alert {
        Alert(id: statement.int64(0), slotID: statement.optionalInt(1), metricKey: statement.string(2),
              metricLabel: statement.string(3), severity: Severity(rawValue: statement.string(4)) ?? .warning,
              message: statement.string(5), value: statement.optionalDouble(6), raisedAt: statement.double(7),
              clearedAt: statement.optionalDouble(8), acknowledgedAt: statement.optionalDouble(9),
              acknowledgedBy: statement.optionalString(10), acknowledgedComment: statement.optionalString(11),
              acknowledgedUntil: statement.optionalDouble(12))
    }

    static let eventColumns = "id, at, kind, severity, slot_id, alert_id, metric_key, message"

    /// An event row; nil for a kind this version does not know (written by a newer engine).
    static func event(_ statement: Statement) -> ChassisEvent? {
        guard let kind = ChassisEvent.Kind(rawValue: statement.string(2)) else { return nil }
        return ChassisEvent(id: statement.int64(0), at: statement.double(1), kind: kind,
                     severity: EventSeverity(rawValue: statement.string(3)) ?? .info, slotID: statement.optionalInt(4),
                     alertID: statement.optionalInt64(5), metricKey: statement.optionalString(6), message: statement.string(7))
    }

    /// The alert log, newest first: every alert, or only those raised or not yet acknowledged.
    public func alerts(openOnly: Bool, limit: Int = 500) throws -> [Alert] {
        try withConnection { try readAlerts($0, openOnly: openOnly, limit: min(max(limit, 1), 10_000)) }
    }

    public func thresholds() throws -> [ThresholdRule] {
        try withConnection { database in
            try Self.thresholdRules(from: try database.statement("""
                SELECT id, scope_kind, scope_value, metric_key, low_critical, low_warning, high_warning, high_critical,
                       hysteresis, minimum_duration_seconds FROM main.thresholds ORDER BY id
                """))
        }
    }

    private func readFreshness(_ database: Database, now: Double) throws -> EngineFreshness {
        let statement = try database.statement("SELECT updated_at FROM m.engine_state WHERE id = 1")
        defer { statement.reset() }
        guard try statement.step() else { return EngineFreshness(updatedAt: nil, stale: true) }
        let updated = statement.double(0)
        return EngineFreshness(updatedAt: updated, stale: now - updated > staleAfterSeconds)
    }

    // MARK: History

    /// Raw samples when the window fits in the raw history, one-minute aggregates beyond.
    public func history(slotID: Int, key: String, seconds: Double) throws -> [HistoryPoint] {
        let window = min(max(seconds, 1), 7 * 86_400)
        let since = HostClock.system.wallSeconds() - window
        return try withConnection { database in
            guard let id = try database.scalarInt("SELECT id FROM m.metrics WHERE slot_id = ? AND key = ?",
                                                  [.integer(Int64(slotID)), .text(key)]) else { return [] }
            var points: [HistoryPoint] = []
            if window <= 3_600 {
                let statement = try database.statement("SELECT time, value FROM m.samples WHERE metric_id = ? AND time >= ? ORDER BY time LIMIT 20000")
                try statement.bind([.integer(id), .real(since)])
                while try statement.step() {
                    let value = statement.double(1)
                    points.append(HistoryPoint(time: statement.double(0), min: value, mean: value, max: value))
                }
            } else {
                let statement = try database.statement("""
                    SELECT minute, minimum, total / count, maximum FROM m.minute_aggregates
                    WHERE metric_id = ? AND minute >= ? ORDER BY minute LIMIT 20000
                    """)
                try statement.bind([.integer(id), .integer(Int64((since / 60).rounded(.down)))])
                while try statement.step() {
                    points.append(HistoryPoint(time: Double(statement.int64(0) * 60 + 30), min: statement.double(1),
                                               mean: statement.double(2), max: statement.double(3)))
                }
            }
            return points
        }
    }

    // MARK: This blade and the cluster

    public struct EngineRow {
        public var state: StoreWriter.EngineState
        public var updatedAt: Double
        public var pid: Int
    }

    /// The engine's published row. The cluster view (a JSON document) is decoded only when asked
    /// for: `local()` runs on every web request (the redirect rule) and needs only the lease.
    public func engineRow(includeCluster: Bool = true) throws -> EngineRow? {
        try withConnection { database in
            let statement = try database.statement(includeCluster ? """
                SELECT blade, address, slot_id, role, term, active_address, active_url, lease_deadline_ns, updated_at, pid, cluster
                FROM m.engine_state WHERE id = 1
                """ : """
                SELECT blade, address, slot_id, role, term, active_address, active_url, lease_deadline_ns, updated_at, pid
                FROM m.engine_state WHERE id = 1
                """)
            defer { statement.reset() }
            guard try statement.step() else { return nil }
            let cluster = includeCluster
                ? statement.optionalString(10).flatMap { try? decoder.decode(ClusterView.self, from: Data($0.utf8)) }
                : nil
            return EngineRow(state: StoreWriter.EngineState(
                blade: statement.string(0), address: statement.string(1), slotID: statement.int(2),
                role: ManagerRole(rawValue: statement.string(3)) ?? .unknown,
                term: UInt64(max(0, statement.int64(4))), activeAddress: statement.optionalString(5),
                activeURL: statement.optionalString(6), leaseDeadlineNanoseconds: UInt64(max(0, statement.int64(7))),
                cluster: cluster), updatedAt: statement.double(8), pid: statement.int(9))
        }
    }

    /// Page cache per attached database of one reader, in KiB.
    public static let pageCacheKiB = 256

    /// The engine's lease board, once an engine has made one; the engine row read when the board's
    /// row version moves, and at least every `rowRefreshNanoseconds`.
    private var leaseBoard: LeaseBoard?
    private var cachedRow: (version: UInt64, row: EngineRow?)?
    private var rowReadNanoseconds: UInt64 = 0
    /// How stale the engine row's other fields (role name, active address, freshness) may be
    /// when the board did not announce a change; also how often a replaced board file is noticed.
    public static let rowRefreshNanoseconds: UInt64 = 250_000_000

    /// The engine row for `local()`, and the lease deadline to check: from the lease board when
    /// there is one (one atomic load per request), else from the row itself. The engine rewrites
    /// an unchanged row only once a second, so without a board the lease looks expired between
    /// rewrites: the fallback fails closed (no board happens only when its file was removed).
    private func engineRowAndLease() throws -> (row: EngineRow?, leaseDeadline: UInt64) {
        let monotonic = HostClock.system.monotonicNanoseconds()
        let due = monotonic &- rowReadNanoseconds >= Self.rowRefreshNanoseconds
        if due, leaseBoard.map({ !$0.isCurrentFile() }) ?? true {
            leaseBoard = LeaseBoard.openForReading(path: LeaseBoard.path(metricsDatabase: metricsDatabase))
            cachedRow = nil
        }
        guard let board = leaseBoard else {
            rowReadNanoseconds = monotonic
            let row = try engineRow(includeCluster: false)
            return (row, row?.state.leaseDeadlineNanoseconds ?? 0)
        }
        // The version before the row: a row committed meanwhile is read again next time.
        let version = board.rowVersion
        if due || cachedRow?.version != version {
            cachedRow = (version, try engineRow(includeCluster: false))
            rowReadNanoseconds = monotonic
        }
        return (cachedRow?.row, board.leaseDeadlineNanoseconds)
    }

    /// This blade's view. The lease is checked against this process's own reading of the host's
    /// monotonic clock: a paused, hung or killed engine cannot leave the blade answering as active.
    public func local() throws -> LocalView {
        let now = HostClock.system.wallSeconds()
        let (engine, leaseDeadline) = try engineRowAndLease()
        guard let row = engine else {
            return LocalView(blade: "", address: "", slotID: 0, role: .unknown, term: 0, activeAddress: nil,
                             activeURL: nil, leaseValid: false, engine: EngineFreshness(updatedAt: nil, stale: true))
        }
        let leaseValid = row.state.role == .active && HostClock.system.monotonicNanoseconds() < leaseDeadline
        return LocalView(blade: row.state.blade, address: row.state.address, slotID: row.state.slotID,
                         role: row.state.role, term: row.state.term, activeAddress: row.state.activeAddress,
                         activeURL: row.state.activeURL, leaseValid: leaseValid,
                         engine: EngineFreshness(updatedAt: row.updatedAt, stale: now - row.updatedAt > staleAfterSeconds))
    }

    public func cluster() throws -> ClusterView {
        guard let row = try engineRow() else {
            return ClusterView(term: 0, active: nil, quorum: false, reason: "the engine is not running", members: [])
        }
        if let cluster = row.state.cluster { return cluster }
        return ClusterView(term: row.state.term, active: nil, quorum: false, reason: "the engine has not published the cluster", members: [])
    }
}
