import Model

/// Power and identify actions as the replicated log records them: asked (an audited operator's
/// change), started by an active manager before it runs the command, finished with the
/// command's answer. Each step appends its event, so the event log and the notifications tell it.
extension StoreWriter {
    /// Records an operator's request; nil when `PowerActionRecord.pendingMax` are unfinished.
    public func requestPower(slotID: Int, action: PowerAction, by: String, at now: Double) throws -> Int64? {
        try config.transaction {
            let unfinished = try config.scalarInt("""
                SELECT count(*) FROM power_actions WHERE state IN ('requested', 'started')
                """) ?? 0
            guard unfinished < PowerActionRecord.pendingMax else { return nil }
            try config.statement("""
                INSERT INTO power_actions (slot_id, action, requested_by, requested_at, state) VALUES (?, ?, ?, ?, 'requested')
                """).run([.integer(Int64(slotID)), .text(action.rawValue), .text(by), .real(now)])
            let id = config.lastInsertRowID
            try config.statement("""
                DELETE FROM power_actions WHERE state NOT IN ('requested', 'started')
                    AND id <= (SELECT max(id) FROM power_actions) - \(PowerActionRecord.recordsMax)
                """).run()
            try appendEvent(kind: .powerRequested, severity: .info, slotID: slotID,
                            message: "\(action.text) of slot \(slotID) asked by \(by)", at: now)
            try bumpGeneration(config)
            return id
        }
    }

    /// Records that `by` starts the action (attempt `attempt`); false when it is unknown or finished.
    public func startPower(id: Int64, by: String, attempt: Int, at now: Double) throws -> Bool {
        try config.transaction {
            guard let record = try powerAction(id: id), !record.state.isFinished else { return false }
            try config.statement("""
                UPDATE power_actions SET state = 'started', started_by = ?, started_at = ?, attempts = ? WHERE id = ?
                """).run([.text(by), .real(now), .integer(Int64(attempt)), .integer(id)])
            try bumpGeneration(config)
            return true
        }
    }

    /// Records how the action ended; nil when it is unknown or already finished, else the record.
    public func finishPower(id: Int64, state: PowerActionState, exitStatus: Int?, output: String,
                            at now: Double) throws -> PowerActionRecord? {
        guard state.isFinished else { return nil }
        return try config.transaction {
            guard var record = try powerAction(id: id), !record.state.isFinished else { return nil }
            let clipped = PowerActionRecord.clipped(output)
            try config.statement("""
                UPDATE power_actions SET state = ?, finished_at = ?, exit_status = ?, output = ? WHERE id = ?
                """).run([.text(state.rawValue), .real(now), .int(exitStatus), .text(clipped), .integer(id)])
            (record.state, record.finishedAt, record.exitStatus, record.output) = (state, now, exitStatus, clipped)
            let kind: ChassisEvent.Kind
            let severity: EventSeverity
            let outcome: String
            switch state {
            case .succeeded: (kind, severity, outcome) = (.powerSucceeded, .info, "done")
            case .interrupted: (kind, severity, outcome) = (.powerInterrupted, .warning, "interrupted")
            default: (kind, severity, outcome) = (.powerFailed, .warning, "failed")
            }
            let detail = clipped.split(whereSeparator: \.isNewline).last.map { ": " + String($0.prefix(300)) } ?? ""
            try appendEvent(kind: kind, severity: severity, slotID: record.slotID,
                            message: "\(record.action.text) of slot \(record.slotID) (asked by \(record.requestedBy)) \(outcome)\(detail)",
                            at: now)
            try bumpGeneration(config)
            return record
        }
    }

    public func powerAction(id: Int64) throws -> PowerActionRecord? {
        let statement = try config.statement("SELECT \(StoreReader.powerColumns) FROM power_actions WHERE id = ?")
        defer { statement.reset() }
        try statement.bind([.integer(id)])
        guard try statement.step() else { return nil }
        return StoreReader.powerAction(statement)
    }

    /// Every action kept, oldest first.
    public func powerActions() throws -> [PowerActionRecord] {
        try StoreReader.readPowerActions(config)
    }

    /// Replaces the actions with an image's (inside its transaction).
    func importPowerActions(_ records: [PowerActionRecord]) throws {
        try config.execute("DELETE FROM power_actions")
        let statement = try config.statement("""
            INSERT INTO power_actions (\(StoreReader.powerColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for record in records {
            try statement.run([.integer(record.id), .integer(Int64(record.slotID)), .text(record.action.rawValue),
                               .text(record.requestedBy), .real(record.requestedAt), .text(record.state.rawValue),
                               .string(record.startedBy), .double(record.startedAt), .integer(Int64(record.attempts)),
                               .double(record.finishedAt), .int(record.exitStatus), .text(PowerActionRecord.clipped(record.output))])
        }
    }
}

extension StoreReader {
    static let powerColumns = """
        id, slot_id, action, requested_by, requested_at, state, started_by, started_at, attempts, finished_at, exit_status, output
        """

    /// A row as a record; a row the current code cannot read (an action of a newer version) is
    /// shown as failed rather than dropped.
    static func powerAction(_ statement: Statement) -> PowerActionRecord {
        let action = PowerAction(rawValue: statement.string(2)) ?? .identifyOff
        return PowerActionRecord(id: statement.int64(0), slotID: statement.int(1), action: action,
                                 requestedBy: statement.string(3), requestedAt: statement.double(4),
                                 state: PowerActionState(rawValue: statement.string(5)) ?? .failed,
                                 startedBy: statement.optionalString(6), startedAt: statement.optionalDouble(7),
                                 attempts: statement.int(8), finishedAt: statement.optionalDouble(9),
                                 exitStatus: statement.optionalInt(10), output: statement.string(11))
    }

    static func readPowerActions(_ database: Database) throws -> [PowerActionRecord] {
        let statement = try database.statement("SELECT \(powerColumns) FROM main.power_actions ORDER BY id")
        defer { statement.reset() }
        var records: [PowerActionRecord] = []
        while try statement.step() { records.append(powerAction(statement)) }
        return records
    }
}
