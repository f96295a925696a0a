import Model

extension StoreWriter {
    /// Schedules a window; nil when the chassis already holds `MaintenanceWindow.countMax` that
    /// have not ended. Windows that ended more than `keptSeconds` ago are forgotten here.
    public func addMaintenance(_ window: MaintenanceWindow, at now: Double) throws -> Int64? {
        try config.transaction {
            try config.statement("DELETE FROM maintenance WHERE ends_at < ?").run([.real(now - MaintenanceWindow.keptSeconds)])
            let open = try config.scalarInt("SELECT count(*) FROM maintenance WHERE ended = 0") ?? 0
            guard open < MaintenanceWindow.countMax else { return nil }
            try config.statement("""
                INSERT INTO maintenance (slot_id, starts_at, ends_at, reason, created_by) VALUES (?, ?, ?, ?, ?)
                """).run([.int(window.slotID), .real(window.startsAt), .real(window.endsAt), .text(window.reason),
                          .text(window.createdBy)])
            let id = config.lastInsertRowID
            try appendEvent(kind: .maintenanceScheduled, severity: .info, slotID: window.slotID,
                            message: "maintenance \(Format.time(window.startsAt)) to \(Format.time(window.endsAt)) by \(window.createdBy): \(window.reason)",
                            at: now)
            try bumpGeneration(config)
            return id
        }
    }

    /// Cancels a window (or ends it early, without the end's summary); false when there is none.
    public func removeMaintenance(id: Int64, at now: Double) throws -> Bool {
        try config.transaction {
            guard let window = try maintenanceWindows().first(where: { $0.window.id == id })?.window else { return false }
            try config.statement("DELETE FROM maintenance WHERE id = ?").run([.integer(id)])
            try appendEvent(kind: .maintenanceRemoved, severity: .info, slotID: window.slotID,
                            message: "maintenance cancelled: \(window.reason)", at: now)
            try bumpGeneration(config)
            return true
        }
    }

    /// Every window kept, with whether its end was recorded.
    public func maintenanceWindows() throws -> [(window: MaintenanceWindow, ended: Bool)] {
        let statement = try config.statement("""
            SELECT id, slot_id, starts_at, ends_at, reason, created_by, ended FROM maintenance ORDER BY id
            """)
        defer { statement.reset() }
        var windows: [(MaintenanceWindow, Bool)] = []
        while try statement.step() { windows.append((StoreReader.maintenanceWindow(statement), statement.int(6) != 0)) }
        return windows
    }

    /// Windows that have come to their end without it being recorded.
    public func maintenanceDueToEnd(at now: Double) throws -> [Int64] {
        try maintenanceWindows().filter { !$0.ended && $0.window.endsAt <= now }.map(\.window.id)
    }

    /// Records a window's end: one event names the alerts still open in it, at the severity of the
    /// worst (so that the notifications held during the window are given now). False when there
    /// is nothing to record.
    public func endMaintenance(id: Int64, at now: Double) throws -> Bool {
        try config.transaction {
            guard let window = try maintenanceWindows().first(where: { $0.window.id == id && !$0.ended })?.window,
                  window.endsAt <= now else { return false }
            try config.statement("UPDATE maintenance SET ended = 1 WHERE id = ?").run([.integer(id)])
            let open = try openAlerts().compactMap { key, value -> (slot: Int?, severity: Severity)? in
                let slot = Int(key.prefix { $0 != "/" }).flatMap { $0 == 0 ? nil : $0 }
                guard window.slotID == nil || slot == window.slotID else { return nil }
                return (slot, value.severity)
            }
            let worst = open.map(\.severity).max()
            let message = open.isEmpty
                ? "maintenance ended, nothing open: \(window.reason)"
                : "maintenance ended with \(open.count) alert\(open.count == 1 ? "" : "s") still open: \(window.reason)"
            try appendEvent(kind: .maintenanceEnded, severity: worst.map(EventSeverity.init) ?? .info, slotID: window.slotID,
                            message: message, at: now)
            try bumpGeneration(config)
            return true
        }
    }

    /// Replaces the windows with an image's (inside its transaction).
    func importMaintenance(_ windows: [ConfigurationImage.Maintenance]) throws {
        try config.execute("DELETE FROM maintenance")
        let statement = try config.statement("""
            INSERT INTO maintenance (id, slot_id, starts_at, ends_at, reason, created_by, ended) VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        for item in windows {
            let window = item.window
            try statement.run([.integer(window.id), .int(window.slotID), .real(window.startsAt), .real(window.endsAt),
                               .text(window.reason), .text(window.createdBy), .integer(item.ended ? 1 : 0)])
        }
    }
}

extension StoreReader {
    static func maintenanceWindow(_ statement: Statement) -> MaintenanceWindow {
        MaintenanceWindow(id: statement.int64(0), slotID: statement.optionalInt(1), startsAt: statement.double(2),
                          endsAt: statement.double(3), reason: statement.string(4), createdBy: statement.string(5))
    }

    /// Windows that have not ended by `now` (current and future), soonest first.
    static func readMaintenance(_ database: Database, now: Double) throws -> [MaintenanceWindow] {
        let statement = try database.statement("""
            SELECT id, slot_id, starts_at, ends_at, reason, created_by FROM main.maintenance WHERE ends_at > ? ORDER BY starts_at, id
            """)
        defer { statement.reset() }
        try statement.bind([.real(now)])
        var windows: [MaintenanceWindow] = []
        while try statement.step() { windows.append(maintenanceWindow(statement)) }
        return windows
    }
}
