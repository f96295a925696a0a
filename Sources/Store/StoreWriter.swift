#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Model

/// The one owner of the state directory in a process (the engine): it holds the writers, runs the
/// migrations and every write transaction. Not thread-safe: call it from one thread or queue.
public final class StoreWriter {
    let config: Database
    var metrics: Database
    /// The lease for the web app's per-request check, in shared memory beside the metrics database.
    public let leaseBoard: LeaseBoard
    /// Metric ids by slot and key, so that a sample costs no lookup.
    private var metricIDs: [MetricKey: Int64] = [:]
    /// The descriptor text last written for each metric, to skip rewriting it.
    private var descriptorTexts: [Int64: String] = [:]
    /// Descriptors by slot and key, for replicated values that arrive without theirs.
    private var descriptors: [MetricKey: MetricDescriptor] = [:]
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    struct MetricKey: Hashable {
        let slotID: Int
        let key: String
    }

    /// Limits on what one call may write, so a hostile or broken report cannot bloat the store.
    public enum Limits {
        public static let readingsPerBatchMax = 4_096
        public static let keyBytesMax = 256
        public static let textBytesMax = 1_024
        public static let pruneRowsPerStatementMax = 5_000
    }

    public init(configDatabase: String, metricsDatabase: String) throws {
        for path in [configDatabase, metricsDatabase] {
            try FileManager.default.createDirectory(atPath: String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]),
                                                    withIntermediateDirectories: true)
        }
        config = try Database(path: configDatabase, mode: .readWrite)
        // The configuration must survive power loss: full fsync on every commit.
        try config.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON")
        try Migrations.migrate(config, Migrations.configuration)
        // The metrics live on a tmpfs and are rebuilt from the blades' reports: no fsync. A file
        // that does not open or check is the chassis' recent past only: it is set aside and
        // started anew rather than keeping the engine from starting.
        do {
            metrics = try Self.openMetrics(metricsDatabase)
        } catch {
            let aside = metricsDatabase + ".broken"
            for suffix in ["", "-wal", "-shm"] {
                unlink(aside + suffix)
                rename(metricsDatabase + suffix, aside + suffix)
            }
            metrics = try Self.openMetrics(metricsDatabase)
            rebuiltMetrics = "\(error)"
        }
        leaseBoard = try LeaseBoard.openForWriting(path: LeaseBoard.path(metricsDatabase: metricsDatabase))
    }

    /// Why the metrics database was set aside and started anew at this start, if it was.
    public private(set) var rebuiltMetrics: String?

    static func openMetrics(_ path: String) throws -> Database {
        let database = try Database(path: path, mode: .readWrite)
        try database.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON")
        let check = try database.statement("PRAGMA quick_check")
        defer { check.reset() }
        guard try check.step(), check.string(0) == "ok" else {
            throw StoreError(code: 11, message: "the metrics database fails its check", context: path)
        }
        check.reset()
        try Migrations.migrate(database, Migrations.metrics)
        return database
    }

    func bumpGeneration(_ database: Database) throws {
        try database.statement("UPDATE meta SET generation = generation + 1 WHERE id = 1").run()
    }

    // MARK: Chassis, slots, modules

    /// Seeds the chassis from the configuration file. The electronically readable ID and the slot
    /// count always follow the file; names and location are seeded once and then belong to the operator.
    public func ensureChassis(chassisID: String, name: String, site: String, row: String, rack: String,
                              shelf: String, slotCount: Int) throws {
        try config.transaction {
            try config.statement("""
                INSERT INTO chassis (id, chassis_id, name, site, row, rack, shelf, slot_count) VALUES (1, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET chassis_id = excluded.chassis_id, slot_count = excluded.slot_count
                """).run([.text(chassisID), .text(name), .text(site), .text(row), .text(rack), .text(shelf),
                          .integer(Int64(slotCount))])
            let insertSlot = try config.statement("INSERT OR IGNORE INTO slots (slot_id) VALUES (?)")
            for slot in 1...max(1, slotCount) {
                try insertSlot.run([.integer(Int64(slot))])
            }
            try bumpGeneration(config)
        }
    }

    /// Records the module found in a slot. A different serial closes the previous module's
    /// record (removed now) and opens a new one: the slot keeps its identity, name and thresholds.
    /// Returns true when the module changed.
    @discardableResult
    public func recordModule(slotID: Int, module: ModuleInfo, at now: Double) throws -> Bool {
        try config.transaction {
            let current = try config.statement("""
                SELECT id, serial, model, revision, manufacturer, mac_addresses, ip_addresses
                FROM modules WHERE slot_id = ? AND removed_at IS NULL
                """)
            try current.bind([.integer(Int64(slotID))])
            if try current.step() {
                let id = current.int64(0)
                let sameModule = current.string(1) == module.serial
                let sameDetails = sameModule && current.string(2) == module.model && current.string(3) == module.revision
                    && current.string(4) == module.manufacturer
                    && current.string(5) == module.macAddresses.joined(separator: ",")
                    && current.string(6) == module.ipAddresses.joined(separator: ",")
                current.reset()
                if sameDetails { return false }
                if sameModule {
                    // The same module with new details (a new MAC or address): no new record.
                    try config.statement("""
                        UPDATE modules SET model = ?, revision = ?, manufacturer = ?, mac_addresses = ?, ip_addresses = ?
                        WHERE id = ?
                        """).run([.text(module.model), .text(module.revision), .text(module.manufacturer),
                                  .text(module.macAddresses.joined(separator: ",")),
                                  .text(module.ipAddresses.joined(separator: ",")), .integer(id)])
                    try bumpGeneration(config)
                    return false
                }
                try config.statement("UPDATE modules SET removed_at = max(?, installed_at) WHERE id = ?")
                    .run([.real(now), .integer(id)])
            }
            try config.statement("""
                INSERT INTO modules (slot_id, serial, model, revision, manufacturer, mac_addresses, ip_addresses, installed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).run([.integer(Int64(slotID)), .text(module.serial), .text(module.model), .text(module.revision),
                          .text(module.manufacturer), .text(module.macAddresses.joined(separator: ",")),
                          .text(module.ipAddresses.joined(separator: ",")), .real(now)])
            try bumpGeneration(config)
            return true
        }
    }

    /// The serial number of the module now in each slot.
    public func currentModuleSerials() throws -> [Int: String] {
        let statement = try config.statement("SELECT slot_id, serial FROM modules WHERE removed_at IS NULL")
        var serials: [Int: String] = [:]
        while try statement.step() { serials[statement.int(0)] = statement.string(1) }
        return serials
    }

    /// The model of the module now in each slot.
    public func currentModuleModels() throws -> [Int: String] {
        let statement = try config.statement("SELECT slot_id, model FROM modules WHERE removed_at IS NULL")
        var models: [Int: String] = [:]
        while try statement.step() { models[statement.int(0)] = statement.string(1) }
        return models
    }

    /// The model each slot's module type expects (empty: any).
    public func expectedModels() throws -> [Int: String] {
        let statement = try config.statement("SELECT slot_id, expected_model FROM slots")
        var models: [Int: String] = [:]
        while try statement.step() { models[statement.int(0)] = statement.string(1) }
        return models
    }

    /// Each slot's affinity and approved serial.
    public func slotAffinities() throws -> [Int: (affinity: SlotAffinity, approved: String)] {
        let statement = try config.statement("SELECT slot_id, affinity, approved_serial FROM slots")
        defer { statement.reset() }
        var result: [Int: (SlotAffinity, String)] = [:]
        while try statement.step() {
            result[statement.int(0)] = (SlotAffinity(rawValue: statement.string(1)) ?? .slot, statement.string(2))
        }
        return result
    }

    /// Sets a slot's affinity; `slot+serial` approves the module now in it (if any). False when
    /// there is no such slot.
    public func setSlotAffinity(slotID: Int, affinity: SlotAffinity) throws -> Bool {
        try config.transaction {
            let serial = try currentModuleSerials()[slotID] ?? ""
            try config.statement("UPDATE slots SET affinity = ?, approved_serial = ? WHERE slot_id = ?")
                .run([.text(affinity.rawValue), .text(affinity == .slotSerial ? serial : ""), .integer(Int64(slotID))])
            let found = config.changes > 0
            try bumpGeneration(config)
            return found
        }
    }

    /// Approves `serial` for a `slot+serial` slot; false when it is not the module in the slot.
    public func approveModule(slotID: Int, serial: String, at now: Double) throws -> Bool {
        try config.transaction {
            guard try currentModuleSerials()[slotID] == serial else { return false }
            try config.statement("UPDATE slots SET approved_serial = ? WHERE slot_id = ?").run([.text(serial), .integer(Int64(slotID))])
            try appendEvent(kind: .moduleApproved, severity: .info, slotID: slotID,
                            message: "module \(serial) approved for slot \(slotID)", at: now)
            try bumpGeneration(config)
            return true
        }
    }

    /// The role (module type) assigned to each slot.
    public func slotRoles() throws -> [Int: String] {
        let statement = try config.statement("SELECT slot_id, role FROM slots")
        var roles: [Int: String] = [:]
        while try statement.step() { roles[statement.int(0)] = statement.string(1) }
        return roles
    }

    // MARK: Blades and the engine's own state

    public func registerBlade(slotID: Int, name: String, address: String) throws {
        try metrics.transaction {
            try metrics.statement("""
                INSERT INTO blades (slot_id, name, address) VALUES (?, ?, ?)
                ON CONFLICT (slot_id) DO UPDATE SET name = excluded.name, address = excluded.address
                """).run([.integer(Int64(slotID)), .text(name), .text(address)])
            try bumpGeneration(metrics)
        }
    }

    /// Marks a blade down since `since` (it stopped reporting) or up again (`nil`).
    public func setBladeDown(slotID: Int, since: Double?) throws {
        try metrics.transaction {
            try metrics.statement("UPDATE blades SET down_since = ? WHERE slot_id = ?")
                .run([.double(since), .integer(Int64(slotID))])
            try bumpGeneration(metrics)
        }
    }

    /// What the engine publishes for the web app: its role, and the lease as a deadline on the
    /// host's monotonic clock, which the web app compares with its own reading of that clock.
    public struct EngineState: Sendable, Equatable {
        public var blade: String
        public var address: String
        public var slotID: Int
        public var role: ManagerRole
        public var term: UInt64
        public var activeAddress: String?
        public var activeURL: String?
        public var leaseDeadlineNanoseconds: UInt64
        public var cluster: ClusterView?

        public init(blade: String, address: String, slotID: Int, role: ManagerRole, term: UInt64, activeAddress: String?,
                    activeURL: String?, leaseDeadlineNanoseconds: UInt64, cluster: ClusterView?) {
            self.blade = blade
            self.address = address
            self.slotID = slotID
            self.role = role
            self.term = term
            self.activeAddress = activeAddress
            self.activeURL = activeURL
            self.leaseDeadlineNanoseconds = leaseDeadlineNanoseconds
            self.cluster = cluster
        }
    }

    /// Publishes the engine's state. The cluster view (members and when each was last heard) is
    /// encoded only when `includeCluster` is set; otherwise the stored one is kept.
    ///
    /// The lease goes to the `LeaseBoard`: before the row when it shrinks or ends (readers must
    /// never see a lease longer than the engine still holds), after the row when it grows. The
    /// row itself is rewritten when anything but the lease changed, with the cluster view, and
    /// otherwise once per `engineRowRefreshSeconds` (its time tells readers the engine is alive):
    /// a lease renewal, about every 100 ms, costs an atomic store, not a SQLite transaction.
    public func publish(engine state: EngineState, at now: Double, includeCluster: Bool = true) throws {
        let lease = state.role == .active ? state.leaseDeadlineNanoseconds : 0
        if lease < leaseBoard.leaseDeadlineNanoseconds { leaseBoard.storeLease(deadlineNanoseconds: lease) }
        var sameRow = false
        if !includeCluster, let last = lastEngineRow, now >= last.at, now - last.at < Self.engineRowRefreshSeconds {
            var leaseAside = state
            leaseAside.leaseDeadlineNanoseconds = last.state.leaseDeadlineNanoseconds
            leaseAside.cluster = last.state.cluster
            sameRow = leaseAside == last.state
        }
        if !sameRow {
            try writeEngineRow(state, at: now, includeCluster: includeCluster)
            lastEngineRow = (state, now)
        }
        if lease > leaseBoard.leaseDeadlineNanoseconds { leaseBoard.storeLease(deadlineNanoseconds: lease) }
        if !sameRow { leaseBoard.advanceRowVersion() }
    }

    /// How often an unchanged engine row is rewritten (readers' "engine stale" check is 5 s).
    public static let engineRowRefreshSeconds = 1.0
    private var lastEngineRow: (state: EngineState, at: Double)?

    private func writeEngineRow(_ state: EngineState, at now: Double, includeCluster: Bool) throws {
        if !includeCluster {
            try metrics.statement("""
                UPDATE engine_state SET blade = ?, address = ?, slot_id = ?, role = ?, term = ?, active_address = ?,
                    active_url = ?, lease_deadline_ns = ?, updated_at = ?, pid = ? WHERE id = 1
                """).run([.text(state.blade), .text(state.address), .integer(Int64(state.slotID)), .text(state.role.rawValue),
                          .integer(Int64(clamping: state.term)), .string(state.activeAddress), .string(state.activeURL),
                          .integer(Int64(clamping: state.leaseDeadlineNanoseconds)), .real(now), .integer(Int64(getpid()))])
            if metrics.changes > 0 { return }
        }
        let clusterText = try state.cluster.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        try metrics.transaction {
            try metrics.statement("""
                INSERT INTO engine_state (id, blade, address, slot_id, role, term, active_address, active_url,
                                          lease_deadline_ns, updated_at, pid, cluster)
                VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET blade = excluded.blade, address = excluded.address,
                    slot_id = excluded.slot_id, role = excluded.role, term = excluded.term,
                    active_address = excluded.active_address, active_url = excluded.active_url,
                    lease_deadline_ns = excluded.lease_deadline_ns, updated_at = excluded.updated_at,
                    pid = excluded.pid, cluster = excluded.cluster
                """).run([.text(state.blade), .text(state.address), .integer(Int64(state.slotID)), .text(state.role.rawValue),
                          .integer(Int64(clamping: state.term)), .string(state.activeAddress), .string(state.activeURL),
                          .integer(Int64(clamping: state.leaseDeadlineNanoseconds)), .real(now),
                          .integer(Int64(getpid())), .string(clusterText)])
            // No new generation: the web app reads this row when the lease board's row version
            // moves, and a publication must not invalidate its cached snapshot.
        }
    }

    // MARK: Samples

    /// One evaluated reading: the value and the status the thresholds gave it.
    public struct EvaluatedReading: Sendable {
        public var reading: Reading
        public var status: Status

        public init(reading: Reading, status: Status) {
            self.reading = reading
            self.status = status
        }
    }

    /// Writes a batch of readings of one slot (0 for chassis-level devices) in one transaction:
    /// descriptors when they change, current values, raw samples and one-minute aggregates.
    public func record(slotID: Int, readings: [EvaluatedReading], at now: Double) throws {
        guard (0...16).contains(slotID) else { throw StoreError(code: 0, message: "slot \(slotID) out of range", context: "record") }
        guard readings.count <= Limits.readingsPerBatchMax else {
            throw StoreError(code: 0, message: "\(readings.count) readings in one batch", context: "record")
        }
        try metrics.transaction {
            let upsertValue = try metrics.statement("""
                INSERT INTO current_values (metric_id, value, text, fault, sampled_at, status) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (metric_id) DO UPDATE SET value = excluded.value, text = excluded.text,
                    fault = excluded.fault, sampled_at = excluded.sampled_at, status = excluded.status
                """)
            let insertSample = try metrics.statement("INSERT INTO samples (metric_id, time, value) VALUES (?, ?, ?)")
            for evaluated in readings {
                let reading = evaluated.reading
                guard reading.descriptor.key.utf8.count <= Limits.keyBytesMax, !reading.descriptor.key.isEmpty else { continue }
                let id = try metricID(slotID: slotID, descriptor: reading.descriptor)
                let text = reading.text.map { String($0.utf8.prefix(Limits.textBytesMax)) ?? "" }
                let value = reading.value.flatMap { $0.isFinite ? $0 : nil }
                try upsertValue.run([.integer(id), .double(value), .string(text), .string(reading.fault), .real(now),
                                     .text(evaluated.status.rawValue)])
                // A counter's history is its rate's (kept beside it); its own would only grow.
                if let value, !reading.descriptor.isCounter {
                    try insertSample.run([.integer(id), .real(now), .real(value)])
                }
            }
            if slotID > 0 {
                try metrics.statement("""
                    INSERT INTO blades (slot_id, name, address, last_report_at) VALUES (?, '', '', ?)
                    ON CONFLICT (slot_id) DO UPDATE SET last_report_at = excluded.last_report_at, down_since = NULL
                    """).run([.integer(Int64(slotID)), .real(now)])
            }
            try bumpGeneration(metrics)
        }
    }

    private func metricID(slotID: Int, descriptor: MetricDescriptor) throws -> Int64 {
        let key = MetricKey(slotID: slotID, key: descriptor.key)
        // The common case, every sample: a known metric whose descriptor did not change.
        if let id = metricIDs[key], descriptors[key] == descriptor { return id }
        let text = String(decoding: try encoder.encode(descriptor), as: UTF8.self)
        if let id = metricIDs[key] {
            descriptors[key] = descriptor
            if descriptorTexts[id] != text {
                try metrics.statement("UPDATE metrics SET descriptor = ? WHERE id = ?").run([.text(text), .integer(id)])
                descriptorTexts[id] = text
            }
            return id
        }
        try metrics.statement("""
            INSERT INTO metrics (slot_id, key, descriptor) VALUES (?, ?, ?)
            ON CONFLICT (slot_id, key) DO UPDATE SET descriptor = excluded.descriptor
            """).run([.integer(Int64(slotID)), .text(descriptor.key), .text(text)])
        guard let id = try metrics.scalarInt("SELECT id FROM metrics WHERE slot_id = ? AND key = ?",
                                             [.integer(Int64(slotID)), .text(descriptor.key)]) else {
            throw StoreError(code: 0, message: "metric vanished", context: "metricID")
        }
        metricIDs[key] = id
        descriptorTexts[id] = text
        descriptors[key] = descriptor
        return id
    }

    /// The descriptor stored for a metric of a slot, if any (from memory, else from the database).
    public func knownDescriptor(slotID: Int, key: String) -> MetricDescriptor? {
        let metricKey = MetricKey(slotID: slotID, key: key)
        if let known = descriptors[metricKey] { return known }
        guard let statement = try? metrics.statement("SELECT descriptor FROM metrics WHERE slot_id = ? AND key = ?") else {
            return nil
        }
        defer { statement.reset() }
        guard (try? statement.bind([.integer(Int64(slotID)), .text(key)])) != nil, (try? statement.step()) == true,
              let descriptor = try? JSONDecoder().decode(MetricDescriptor.self, from: Data(statement.string(0).utf8)) else {
            return nil
        }
        descriptors[metricKey] = descriptor
        return descriptor
    }

    /// Writes another blade's batch under its slot. Values whose descriptor never arrived are
    /// skipped until the next full batch brings it. Returns how many values were written.
    /// Writes several blades' batches in one transaction; returns how many values were written.
    @discardableResult
    public func recordReplicated(_ batches: [MetricsBatch], at now: Double) throws -> Int {
        try metrics.transaction {
            try batches.reduce(0) { $0 + (try recordReplicated($1, at: now)) }
        }
    }

    /// How far in the past a replicated batch's own sampling time is believed: the values are
    /// stamped with the time the blade took them (the "last values at T" of a blade that failed),
    /// unless that time is in the future or older than this (a skewed clock), when it is `now`.
    public static let replicatedTimeToleranceSeconds = 5.0

    @discardableResult
    public func recordReplicated(_ batch: MetricsBatch, at now: Double) throws -> Int {
        var readings: [EvaluatedReading] = []
        for value in batch.values {
            guard let descriptor = value.descriptor ?? knownDescriptor(slotID: batch.slotID, key: value.key),
                  descriptor.key == value.key else { continue }
            readings.append(EvaluatedReading(reading: Reading(descriptor: descriptor, value: value.value, text: value.text,
                                                              fault: value.fault), status: value.status))
        }
        let taken = batch.sampledAt.isFinite && batch.sampledAt <= now
            && now - batch.sampledAt <= Self.replicatedTimeToleranceSeconds ? batch.sampledAt : now
        try record(slotID: batch.slotID, readings: readings, at: taken)
        return readings.count
    }

    /// Counts the samples written since the last pass into their one-minute aggregates (min,
    /// total, max, count per metric and minute), merging with what earlier passes counted, and
    /// returns how many samples it counted. Each sample is counted once: the pass takes the rowids
    /// after the cursor, and moves the cursor in the same transaction. Samples may arrive out of
    /// order (a replicated batch keeps its blade's time); their minute is their own time's.
    ///
    /// The engine runs a pass every few seconds: one grouped INSERT over the new samples instead
    /// of an upsert for every sample (a 16-blade demo's active manager writes about 270 samples a
    /// second, counted from its samples table over 30 s).
    @discardableResult
    public func aggregateMinutes() throws -> Int {
        try metrics.transaction {
            let cursor = try metrics.scalarInt("SELECT last_rowid FROM aggregation_cursor WHERE id = 1") ?? 0
            guard let newest = try metrics.scalarInt("SELECT max(rowid) FROM samples"), newest > cursor else { return 0 }
            // "WHERE" before "ON CONFLICT" keeps SQLite's parser from reading ON as a join's.
            try metrics.statement("""
                INSERT INTO minute_aggregates (metric_id, minute, minimum, total, maximum, count)
                SELECT metric_id, CAST(time / 60 AS INTEGER), min(value), sum(value), max(value), count(*)
                FROM samples WHERE rowid > ? AND rowid <= ? GROUP BY metric_id, CAST(time / 60 AS INTEGER)
                ON CONFLICT (metric_id, minute) DO UPDATE SET minimum = min(minimum, excluded.minimum),
                    total = total + excluded.total, maximum = max(maximum, excluded.maximum),
                    count = count + excluded.count
                """).run([.integer(cursor), .integer(newest)])
            try metrics.statement("""
                INSERT INTO aggregation_cursor (id, last_rowid) VALUES (1, ?)
                ON CONFLICT (id) DO UPDATE SET last_rowid = excluded.last_rowid
                """).run([.integer(newest)])
            // No new generation: the chassis documents do not hold aggregates, and history is
            // read afresh on every request.
            return Int(newest - cursor)
        }
    }

    /// Deletes raw samples older than `rawSeconds` and aggregates older than `aggregateSeconds`,
    /// a bounded number of rows per statement so that no write transaction is long. Readers in WAL
    /// mode are never blocked. Returns the number of rows deleted.
    ///
    /// Neither table is scanned: samples are appended in time order, so the old ones are the
    /// lowest rowids (found by reading from the oldest up to the first one kept), and aggregates
    /// are keyed by metric, then minute, so each metric's old minutes are one range of the key.
    /// (The first version searched by time; at the end of every pass it read the whole table,
    /// 3.5 million samples with 16 blades; the scan took 95 ms in the sqlite3 shell.) A sample stamped out of
    /// order (the wall clock stepped back) stays until the samples before it are old enough.
    @discardableResult
    public func prune(now: Double, rawSeconds: Int, aggregateSeconds: Int) throws -> Int {
        // Every sample is counted in its minute before it can go.
        try aggregateMinutes()
        var deleted = 0
        let rawCutoff = now - Double(rawSeconds)
        if let oldest = try metrics.scalarInt("SELECT min(rowid) FROM samples") {
            let kept = try metrics.scalarInt("SELECT rowid FROM samples WHERE time >= ? ORDER BY rowid LIMIT 1", [.real(rawCutoff)])
            let end = try kept ?? ((metrics.scalarInt("SELECT max(rowid) FROM samples") ?? oldest) + 1)
            var from = oldest
            while from < end {
                let to = min(end, from + Int64(Limits.pruneRowsPerStatementMax))
                try metrics.statement("DELETE FROM samples WHERE rowid >= ? AND rowid < ?").run([.integer(from), .integer(to)])
                deleted += metrics.changes
                from = to
            }
            // An emptied table numbers its next sample 1 again: the cursor starts over with it.
            if try metrics.scalarInt("SELECT max(rowid) FROM samples") == nil {
                try metrics.execute("UPDATE aggregation_cursor SET last_rowid = 0 WHERE id = 1")
            }
        }
        let minuteCutoff = Int64(((now - Double(aggregateSeconds)) / 60).rounded(.down))
        var metricIDs: [Int64] = []
        let list = try metrics.statement("SELECT id FROM metrics ORDER BY id")
        while try list.step() { metricIDs.append(list.int64(0)) }
        list.reset()
        // One range of the key per metric (about one row a minute each), in one transaction.
        let dropOld = try metrics.statement("DELETE FROM minute_aggregates WHERE metric_id = ? AND minute < ?")
        try metrics.transaction {
            for id in metricIDs {
                try dropOld.run([.integer(id), .integer(minuteCutoff)])
                deleted += metrics.changes
            }
        }
        return deleted
    }

    // MARK: Operator settings

    public func loadThresholds() throws -> [ThresholdRule] {
        let statement = try config.statement("""
            SELECT id, scope_kind, scope_value, metric_key, low_critical, low_warning, high_warning, high_critical,
                   hysteresis, minimum_duration_seconds FROM thresholds ORDER BY id
            """)
        return try StoreReader.thresholdRules(from: statement)
    }

    /// Creates or replaces the rule for its scope and key; returns its id.
    public func setThreshold(_ rule: ThresholdRule) throws -> Int64 {
        let (kind, value) = StoreReader.scopeColumns(rule.scope)
        return try config.transaction {
            try config.statement("""
                INSERT INTO thresholds (scope_kind, scope_value, metric_key, low_critical, low_warning, high_warning,
                                        high_critical, hysteresis, minimum_duration_seconds)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (scope_kind, scope_value, metric_key) DO UPDATE SET low_critical = excluded.low_critical,
                    low_warning = excluded.low_warning, high_warning = excluded.high_warning,
                    high_critical = excluded.high_critical, hysteresis = excluded.hysteresis,
                    minimum_duration_seconds = excluded.minimum_duration_seconds
                """).run([.text(kind), .text(value), .text(rule.metricKey), .double(rule.limits.lowCritical),
                          .double(rule.limits.lowWarning), .double(rule.limits.highWarning),
                          .double(rule.limits.highCritical), .real(rule.hysteresis), .real(rule.minimumDurationSeconds)])
            let id = try config.scalarInt("SELECT id FROM thresholds WHERE scope_kind = ? AND scope_value = ? AND metric_key = ?",
                                          [.text(kind), .text(value), .text(rule.metricKey)]) ?? 0
            try bumpGeneration(config)
            return id
        }
    }

    /// Returns false when there was no such rule.
    public func removeThreshold(id: Int64) throws -> Bool {
        try config.transaction {
            try config.statement("DELETE FROM thresholds WHERE id = ?").run([.integer(id)])
            let removed = config.changes > 0
            try bumpGeneration(config)
            return removed
        }
    }

    public func updateChassis(name: String?, site: String?, row: String?, rack: String?, shelf: String?) throws {
        try config.transaction {
            try config.statement("""
                UPDATE chassis SET name = coalesce(?, name), site = coalesce(?, site), row = coalesce(?, row),
                    rack = coalesce(?, rack), shelf = coalesce(?, shelf) WHERE id = 1
                """).run([.string(name), .string(site), .string(row), .string(rack), .string(shelf)])
            try bumpGeneration(config)
        }
    }

    /// Returns false when there is no such slot.
    public func updateSlot(slotID: Int, name: String?, moduleType: ModuleType?) throws -> Bool {
        try config.transaction {
            try config.statement("""
                UPDATE slots SET name = coalesce(?, name), role = coalesce(?, role), function = coalesce(?, function),
                    expected_model = coalesce(?, expected_model) WHERE slot_id = ?
                """).run([.string(name), .string(moduleType?.role), .string(moduleType?.function),
                          .string(moduleType?.expectedModel), .integer(Int64(slotID))])
            let found = config.changes > 0
            try bumpGeneration(config)
            return found
        }
    }

    public func setting(_ key: String) throws -> String? {
        let statement = try config.statement("SELECT value FROM settings WHERE key = ?")
        defer { statement.reset() }
        try statement.bind([.text(key)])
        return try statement.step() ? statement.string(0) : nil
    }

    /// The keys of the settings that start with `prefix`.
    public func settingKeys(prefix: String) throws -> [String] {
        let statement = try config.statement("SELECT key FROM settings WHERE substr(key, 1, ?) = ? ORDER BY key")
        defer { statement.reset() }
        try statement.bind([.integer(Int64(prefix.utf8.count)), .text(prefix)])
        var keys: [String] = []
        while try statement.step() { keys.append(statement.string(0)) }
        return keys
    }

    public func removeSetting(_ key: String) throws {
        try config.transaction {
            try config.statement("DELETE FROM settings WHERE key = ?").run([.text(key)])
            try bumpGeneration(config)
        }
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try config.transaction {
            try config.statement("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .run([.text(key), .text(value)])
            try bumpGeneration(config)
        }
    }

    // MARK: Alerts

    /// Open alerts by slot and metric key, for the engine to resume evaluation after a restart.
    public func openAlerts() throws -> [String: (id: Int64, severity: Severity)] {
        let statement = try config.statement("SELECT id, slot_id, metric_key, severity FROM alerts WHERE cleared_at IS NULL")
        var result: [String: (id: Int64, severity: Severity)] = [:]
        while try statement.step() {
            let slot = statement.optionalInt(1) ?? 0
            result["\(slot)/\(statement.string(2))"] = (statement.int64(0), Severity(rawValue: statement.string(3)) ?? .warning)
        }
        return result
    }

    /// Raises an alert (closing an open one of the same slot and key, as when a warning becomes
    /// critical) and records the events; the log of closed alerts keeps its newest
    /// `Alert.recordsMax`, as snapshots do.
    public func raiseAlert(slotID: Int?, metricKey: String, metricLabel: String, severity: Severity, message: String,
                           value: Double?, at now: Double) throws -> Int64 {
        try config.transaction {
            try closeOpenAlert(slotID: slotID, metricKey: metricKey, at: now, reason: "replaced by a \(severity.rawValue) alert")
            try config.statement("""
                INSERT INTO alerts (slot_id, metric_key, metric_label, severity, message, value, raised_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """).run([.int(slotID), .text(metricKey), .text(metricLabel), .text(severity.rawValue), .text(message),
                          .double(value), .real(now)])
            let id = config.lastInsertRowID
            try appendEvent(kind: .alertRaised, severity: EventSeverity(severity), slotID: slotID, alertID: id,
                            metricKey: metricKey, message: message, at: now)
            try config.statement("DELETE FROM alerts WHERE \(ConfigurationImage.alertsDropped)").run()
            try config.statement("DELETE FROM alerts WHERE cleared_at < ?").run([.real(now - Alert.keptSeconds)])
            try bumpGeneration(config)
            return id
        }
    }

    public func clearAlert(slotID: Int?, metricKey: String, at now: Double) throws {
        try config.transaction {
            try closeOpenAlert(slotID: slotID, metricKey: metricKey, at: now, reason: "cleared")
            try bumpGeneration(config)
        }
    }

    /// Closes the open alert of a slot and key, if any, with an event.
    private func closeOpenAlert(slotID: Int?, metricKey: String, at now: Double, reason: String) throws {
        let open = try config.statement("""
            SELECT id, severity, message FROM alerts WHERE slot_id IS ? AND metric_key = ? AND cleared_at IS NULL
            """)
        try open.bind([.int(slotID), .text(metricKey)])
        var closed: [(Int64, Severity, String)] = []
        while try open.step() {
            closed.append((open.int64(0), Severity(rawValue: open.string(1)) ?? .warning, open.string(2)))
        }
        open.reset()
        guard !closed.isEmpty else { return }
        try config.statement("UPDATE alerts SET cleared_at = ? WHERE slot_id IS ? AND metric_key = ? AND cleared_at IS NULL")
            .run([.real(now), .int(slotID), .text(metricKey)])
        for (id, severity, message) in closed {
            try appendEvent(kind: .alertCleared, severity: EventSeverity(severity), slotID: slotID, alertID: id,
                            metricKey: metricKey, message: "\(reason): \(message)", at: now)
        }
    }

    /// Returns false when there is no such alert. Acknowledging twice keeps the first
    /// acknowledgement, unless it was for a time that has run out.
    public func acknowledgeAlert(id: Int64, by operatorName: String, comment: String? = nil, until: Double? = nil,
                                 at now: Double) throws -> Bool {
        try config.transaction {
            let alert = try config.statement("""
                SELECT slot_id, metric_key, message, acknowledged_at, acknowledged_until FROM alerts WHERE id = ?
                """)
            try alert.bind([.integer(id)])
            guard try alert.step() else { return false }
            let (slotID, metricKey, message) = (alert.optionalInt(0), alert.string(1), alert.string(2))
            let (already, lapses) = (alert.optionalDouble(3), alert.optionalDouble(4))
            alert.reset()
            if already != nil, lapses.map({ $0 > now }) ?? true { return true }
            let comment = comment.flatMap { $0.isEmpty ? nil : String($0.prefix(512)) }
            try config.statement("""
                UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ?, acknowledged_comment = ?, acknowledged_until = ? WHERE id = ?
                """).run([.real(now), .text(operatorName), .string(comment), .double(until), .integer(id)])
            let note = (comment.map { " (\($0))" } ?? "") + (until.map { " until \(Format.time($0))" } ?? "")
            try appendEvent(kind: .alertAcknowledged, severity: .info, slotID: slotID, alertID: id, metricKey: metricKey,
                            message: "acknowledged by \(operatorName)\(note): \(message)", at: now)
            try bumpGeneration(config)
            return true
        }
    }

    /// Open alerts whose acknowledgement holds until a time that has come.
    public func lapsedAcknowledgements(at now: Double) throws -> [Int64] {
        let statement = try config.statement("""
            SELECT id FROM alerts WHERE cleared_at IS NULL AND acknowledged_at IS NOT NULL AND acknowledged_until <= ?
            """)
        defer { statement.reset() }
        try statement.bind([.real(now)])
        var ids: [Int64] = []
        while try statement.step() { ids.append(statement.int64(0)) }
        return ids
    }

    /// Ends an acknowledgement whose time ran out: the alert is new again, and an event says so
    /// (with the alert's severity, so that it is notified again). False when there is nothing to end.
    public func lapseAcknowledgement(id: Int64, at now: Double) throws -> Bool {
        try config.transaction {
            let alert = try config.statement("""
                SELECT slot_id, metric_key, message, severity, acknowledged_by FROM alerts
                WHERE id = ? AND cleared_at IS NULL AND acknowledged_at IS NOT NULL AND acknowledged_until <= ?
                """)
            try alert.bind([.integer(id), .real(now)])
            guard try alert.step() else { return false }
            let (slotID, metricKey, message) = (alert.optionalInt(0), alert.string(1), alert.string(2))
            let (severity, by) = (Severity(rawValue: alert.string(3)) ?? .warning, alert.string(4))
            alert.reset()
            try config.statement("""
                UPDATE alerts SET acknowledged_at = NULL, acknowledged_by = NULL, acknowledged_comment = NULL,
                    acknowledged_until = NULL WHERE id = ?
                """).run([.integer(id)])
            try appendEvent(kind: .alertAcknowledgementExpired, severity: EventSeverity(severity), slotID: slotID, alertID: id,
                            metricKey: metricKey, message: "the acknowledgement by \(by) expired: \(message)", at: now)
            try bumpGeneration(config)
            return true
        }
    }

    // MARK: Events

    /// Appends an event (inside the caller's transaction when there is one); the log keeps its
    /// newest `ChassisEvent.recordsMax`, here as in snapshots, so ids and rows agree on every blade.
    @discardableResult
    public func appendEvent(kind: ChassisEvent.Kind, severity: EventSeverity, slotID: Int?, alertID: Int64? = nil,
                            metricKey: String? = nil, message: String, at now: Double) throws -> Int64 {
        try config.transaction {
            try config.statement("""
                INSERT INTO events (at, kind, severity, slot_id, alert_id, metric_key, message) VALUES (?, ?, ?, ?, ?, ?, ?)
                """).run([.real(now), .text(kind.rawValue), .text(severity.rawValue), .int(slotID), .int64(alertID),
                          .string(metricKey), .text(String(message.prefix(1_000)))])
            let id = config.lastInsertRowID
            try config.statement("DELETE FROM events WHERE id <= ? OR at < ?")
                .run([.integer(id - Int64(ChassisEvent.recordsMax)), .real(now - ChassisEvent.keptSeconds)])
            return id
        }
    }

    /// Events after `id`, oldest first: what a notification target has not been sent yet.
    public func events(after id: Int64, limit: Int) throws -> [ChassisEvent] {
        let statement = try config.statement("""
            SELECT \(StoreReader.eventColumns) FROM events WHERE id > ? ORDER BY id LIMIT ?
            """)
        try statement.bind([.integer(id), .integer(Int64(max(1, limit)))])
        var events: [ChassisEvent] = []
        while try statement.step() { if let event = StoreReader.event(statement) { events.append(event) } }
        statement.reset()
        return events
    }

    /// The newest event's id (0 when there is none).
    public func lastEventID() throws -> Int64 {
        Int64(try config.scalarInt("SELECT coalesce(max(id), 0) FROM events") ?? 0)
    }

    /// Alerts open now and those cleared since `since`, for a receiver that wants the state
    /// (Alertmanager) rather than the changes.
    public func alertsOpenOrClearedSince(_ since: Double) throws -> [Alert] {
        let statement = try config.statement("""
            SELECT \(StoreReader.alertColumns) FROM alerts WHERE cleared_at IS NULL OR cleared_at >= ? ORDER BY id
            """)
        try statement.bind([.real(since)])
        var alerts: [Alert] = []
        while try statement.step() { alerts.append(StoreReader.alert(statement)) }
        statement.reset()
        return alerts
    }
}
