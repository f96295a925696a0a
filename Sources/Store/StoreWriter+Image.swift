#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Model

/// The replicated configuration as one value: what a consensus snapshot carries, so that a blade
/// that was away, or a new one, catches up by installing it.
public struct ConfigurationImage: Sendable, Codable, Equatable {
    public struct Chassis: Sendable, Codable, Equatable {
        public var chassisID: String
        public var name: String
        public var site: String
        public var row: String
        public var rack: String
        public var shelf: String
        public var slotCount: Int
    }

    public struct Slot: Sendable, Codable, Equatable {
        public var slotID: Int
        public var name: String
        public var moduleType: ModuleType
        /// Absent in images of engines before slot affinity.
        public var affinity: SlotAffinity?
        public var approvedSerial: String?
    }

    public struct Module: Sendable, Codable, Equatable {
        public var id: Int64
        public var slotID: Int
        public var module: ModuleInfo
    }

    public var chassis: Chassis?
    public var slots: [Slot]
    public var modules: [Module]
    public var thresholds: [ThresholdRule]
    public var alerts: [Alert]
    public var settings: [String: String]
    /// Members added at run time (absent in images of older engines).
    public var members: [MemberRecord]?
    /// Users, tokens, sessions ended by logout, throttle counters and the audit log (absent in
    /// images of engines before them: then an image leaves them as they are).
    public var users: [UserRecord]?
    public var tokens: [TokenRecord]?
    public var revokedSessions: [RevokedSession]?
    public var loginFailures: [LoginFailures]?
    public var audit: [AuditRecord]?
    /// The event log (absent in images of engines before it).
    public var events: [ChassisEvent]?
    /// Maintenance windows, with whether their end was recorded (absent in older images).
    public var maintenance: [Maintenance]?
    /// Power and identify actions (absent in older images).
    public var powerActions: [PowerActionRecord]?

    public struct Maintenance: Sendable, Codable, Equatable {
        public var window: MaintenanceWindow
        public var ended: Bool
    }

    /// The alert log keeps every open alert and the newest `Alert.recordsMax` alerts otherwise,
    /// in snapshots and in every blade's store alike: the SQL condition of the alerts it drops.
    static let alertsDropped = "cleared_at IS NOT NULL AND id <= (SELECT coalesce(max(id), 0) FROM alerts) - \(Alert.recordsMax)"
}

extension StoreWriter {
    public func exportConfiguration() throws -> ConfigurationImage {
        var image = ConfigurationImage(chassis: nil, slots: [], modules: [], thresholds: [], alerts: [], settings: [:],
                                       members: try memberRecords())
        image.users = try AccessRows.users(config)
        image.tokens = try AccessRows.tokens(config)
        image.revokedSessions = try AccessRows.revokedSessions(config)
        image.loginFailures = try AccessRows.loginFailures(config)
        image.audit = try AccessRows.audit(config, filter: AuditFilter(), limit: AuditRecord.recordsMax).reversed()
        let chassis = try config.statement("SELECT chassis_id, name, site, row, rack, shelf, slot_count FROM chassis WHERE id = 1")
        if try chassis.step() {
            image.chassis = .init(chassisID: chassis.string(0), name: chassis.string(1), site: chassis.string(2),
                                  row: chassis.string(3), rack: chassis.string(4), shelf: chassis.string(5),
                                  slotCount: chassis.int(6))
        }
        chassis.reset()
        let slots = try config.statement("""
            SELECT slot_id, name, role, function, expected_model, affinity, approved_serial FROM slots ORDER BY slot_id
            """)
        while try slots.step() {
            image.slots.append(.init(slotID: slots.int(0), name: slots.string(1), moduleType: ModuleType(
                role: slots.string(2), function: slots.string(3), expectedModel: slots.string(4)),
                affinity: SlotAffinity(rawValue: slots.string(5)), approvedSerial: slots.string(6)))
        }
        let modules = try config.statement("""
            SELECT id, slot_id, serial, model, revision, manufacturer, mac_addresses, ip_addresses, installed_at, removed_at
            FROM modules ORDER BY id
            """)
        while try modules.step() {
            image.modules.append(.init(id: modules.int64(0), slotID: modules.int(1), module: ModuleInfo(
                serial: modules.string(2), model: modules.string(3), revision: modules.string(4),
                manufacturer: modules.string(5), macAddresses: StoreReader.list(modules.string(6)),
                ipAddresses: StoreReader.list(modules.string(7)), installedAt: modules.double(8),
                removedAt: modules.optionalDouble(9))))
        }
        image.thresholds = try loadThresholds()
        let alerts = try config.statement("""
            SELECT \(StoreReader.alertColumns) FROM alerts WHERE NOT (\(ConfigurationImage.alertsDropped)) ORDER BY id
            """)
        while try alerts.step() { image.alerts.append(StoreReader.alert(alerts)) }
        image.events = try events(after: 0, limit: ChassisEvent.recordsMax)
        image.maintenance = try maintenanceWindows().map { ConfigurationImage.Maintenance(window: $0.window, ended: $0.ended) }
        image.powerActions = try powerActions()
        let settings = try config.statement("SELECT key, value FROM settings")
        while try settings.step() { image.settings[settings.string(0)] = settings.string(1) }
        return image
    }

    /// Replaces the whole replicated configuration with `image`, in one transaction.
    public func importConfiguration(_ image: ConfigurationImage) throws {
        try config.transaction {
            try config.execute("DELETE FROM modules; DELETE FROM thresholds; DELETE FROM alerts; DELETE FROM settings")
            if let members = image.members {
                try config.execute("DELETE FROM cluster_members")
                for member in members { try upsertMember(member) }
            }
            if let chassis = image.chassis {
                try config.statement("""
                    INSERT INTO chassis (id, chassis_id, name, site, row, rack, shelf, slot_count) VALUES (1, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET chassis_id = excluded.chassis_id, name = excluded.name,
                        site = excluded.site, row = excluded.row, rack = excluded.rack, shelf = excluded.shelf,
                        slot_count = excluded.slot_count
                    """).run([.text(chassis.chassisID), .text(chassis.name), .text(chassis.site), .text(chassis.row),
                              .text(chassis.rack), .text(chassis.shelf), .integer(Int64(chassis.slotCount))])
            }
            let slot = try config.statement("""
                INSERT INTO slots (slot_id, name, role, function, expected_model, affinity, approved_serial)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (slot_id) DO UPDATE SET name = excluded.name, role = excluded.role,
                    function = excluded.function, expected_model = excluded.expected_model,
                    affinity = excluded.affinity, approved_serial = excluded.approved_serial
                """)
            for item in image.slots {
                try slot.run([.integer(Int64(item.slotID)), .text(item.name), .text(item.moduleType.role),
                              .text(item.moduleType.function), .text(item.moduleType.expectedModel),
                              .text((item.affinity ?? .slot).rawValue), .text(item.approvedSerial ?? "")])
            }
            let module = try config.statement("""
                INSERT INTO modules (id, slot_id, serial, model, revision, manufacturer, mac_addresses, ip_addresses,
                                     installed_at, removed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for item in image.modules {
                let info = item.module
                try module.run([.integer(item.id), .integer(Int64(item.slotID)), .text(info.serial), .text(info.model),
                                .text(info.revision), .text(info.manufacturer), .text(info.macAddresses.joined(separator: ",")),
                                .text(info.ipAddresses.joined(separator: ",")), .real(info.installedAt), .double(info.removedAt)])
            }
            let threshold = try config.statement("""
                INSERT INTO thresholds (id, scope_kind, scope_value, metric_key, low_critical, low_warning, high_warning,
                                        high_critical, hysteresis, minimum_duration_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for rule in image.thresholds {
                let (kind, value) = StoreReader.scopeColumns(rule.scope)
                try threshold.run([.integer(rule.id), .text(kind), .text(value), .text(rule.metricKey),
                                   .double(rule.limits.lowCritical), .double(rule.limits.lowWarning),
                                   .double(rule.limits.highWarning), .double(rule.limits.highCritical),
                                   .real(rule.hysteresis), .real(rule.minimumDurationSeconds)])
            }
            let alert = try config.statement("""
                INSERT INTO alerts (\(StoreReader.alertColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for item in image.alerts {
                try alert.run([.integer(item.id), .int(item.slotID), .text(item.metricKey), .text(item.metricLabel),
                               .text(item.severity.rawValue), .text(item.message), .double(item.value), .real(item.raisedAt),
                               .double(item.clearedAt), .double(item.acknowledgedAt), .string(item.acknowledgedBy),
                               .string(item.acknowledgedComment), .double(item.acknowledgedUntil)])
            }
            if let maintenance = image.maintenance { try importMaintenance(maintenance) }
            if let actions = image.powerActions { try importPowerActions(actions) }
            if let events = image.events {
                try config.execute("DELETE FROM events")
                let statement = try config.statement("""
                    INSERT INTO events (id, at, kind, severity, slot_id, alert_id, metric_key, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for event in events.suffix(ChassisEvent.recordsMax) {
                    try statement.run([.integer(event.id), .real(event.at), .text(event.kind.rawValue), .text(event.severity.rawValue),
                                       .int(event.slotID), .int64(event.alertID), .string(event.metricKey), .text(event.message)])
                }
            }
            if let users = image.users {
                try config.execute("DELETE FROM api_tokens; DELETE FROM users")
                for user in users { try insertUser(user) }
            }
            if let tokens = image.tokens {
                try config.execute("DELETE FROM api_tokens")
                for token in tokens { try insertToken(token) }
            }
            if let sessions = image.revokedSessions {
                try config.execute("DELETE FROM revoked_sessions")
                let statement = try config.statement("INSERT INTO revoked_sessions (id, until) VALUES (?, ?)")
                for session in sessions { try statement.run([.text(session.id), .real(session.until)]) }
            }
            if let failures = image.loginFailures {
                try config.execute("DELETE FROM login_failures")
                let statement = try config.statement("INSERT INTO login_failures (key, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?)")
                for record in failures {
                    try statement.run([.text(record.key), .integer(Int64(record.failures)), .real(record.lastFailureAt),
                                       .double(record.lockedUntil)])
                }
            }
            if let audit = image.audit {
                try config.execute("DELETE FROM audit")
                let statement = try config.statement("""
                    INSERT INTO audit (id, at, actor, role, address, via, action, target, old, new)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for record in audit {
                    try statement.run([.integer(record.id), .real(record.at), .text(record.actor), .text(record.role),
                                       .text(record.address), .text(record.via), .text(record.action), .text(record.target),
                                       .string(record.old), .string(record.new)])
                }
            }
            let setting = try config.statement("INSERT INTO settings (key, value) VALUES (?, ?)")
            for (key, value) in image.settings.sorted(by: { $0.key < $1.key }) {
                try setting.run([.text(key), .text(value)])
            }
            try config.statement("UPDATE meta SET generation = generation + 1 WHERE id = 1").run()
        }
    }
}

extension StoreWriter {
    /// The chassis row as the audit log shows it.
    public func exportChassis() throws -> ConfigurationImage.Chassis? {
        let statement = try config.statement("SELECT chassis_id, name, site, row, rack, shelf, slot_count FROM chassis WHERE id = 1")
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return .init(chassisID: statement.string(0), name: statement.string(1), site: statement.string(2),
                     row: statement.string(3), rack: statement.string(4), shelf: statement.string(5), slotCount: statement.int(6))
    }

    public func exportSlot(_ slotID: Int) throws -> ConfigurationImage.Slot? {
        let statement = try config.statement("""
            SELECT slot_id, name, role, function, expected_model, affinity, approved_serial FROM slots WHERE slot_id = ?
            """)
        defer { statement.reset() }
        try statement.bind([.integer(Int64(slotID))])
        guard try statement.step() else { return nil }
        return .init(slotID: statement.int(0), name: statement.string(1), moduleType: ModuleType(
            role: statement.string(2), function: statement.string(3), expectedModel: statement.string(4)),
            affinity: SlotAffinity(rawValue: statement.string(5)), approvedSerial: statement.string(6))
    }

    public func alert(id: Int64) throws -> Alert? {
        let statement = try config.statement("""
            SELECT \(StoreReader.alertColumns) FROM alerts WHERE id = ?
            """)
        defer { statement.reset() }
        try statement.bind([.integer(id)])
        guard try statement.step() else { return nil }
        return StoreReader.alert(statement)
    }
}
