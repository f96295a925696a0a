import Model

/// Which alerts of the log to read (all conditions must hold), newest first.
public struct AlertFilter: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Raised and not yet cleared.
        case open
        /// Cleared.
        case closed
        case all
    }

    public var state: State
    public var severity: Severity?
    /// Only these slots (a customer's scope, or one slot asked for); nil: every slot.
    public var slots: [Int]?
    /// Whether the chassis' own devices' alerts (no slot) are included.
    public var includeChassis: Bool
    public var since: Double?
    public var until: Double?
    /// Text the message or the metric's label contains.
    public var text: String?
    /// Alerts older than this id (the next page).
    public var beforeID: Int64?

    public init(state: State = .all, severity: Severity? = nil, slots: [Int]? = nil, includeChassis: Bool = true,
                since: Double? = nil, until: Double? = nil, text: String? = nil, beforeID: Int64? = nil) {
        self.state = state
        self.severity = severity
        self.slots = slots
        self.includeChassis = includeChassis
        self.since = since
        self.until = until
        self.text = text
        self.beforeID = beforeID
    }

    /// At most this many alerts in one answer.
    public static let limitMax = 1_000
}

extension StoreReader {
    /// The SQL condition on `slot_id` of a log's rows: only `slots` (nil: every slot), and the
    /// chassis' own rows (no slot) when `includeChassis`.
    static func placeCondition(slots: [Int]?, includeChassis: Bool) -> String {
        var places: [String] = []
        if let slots {
            // Numbers only, from the caller's scope or a parsed parameter: safe to inline.
            let list = slots.map(String.init).joined(separator: ", ")
            if !list.isEmpty { places.append("slot_id IN (\(list))") }
        } else {
            places.append("slot_id IS NOT NULL")
        }
        if includeChassis { places.append("slot_id IS NULL") }
        return places.isEmpty ? "0" : "(" + places.joined(separator: " OR ") + ")"
    }

    /// The alert log as `filter` asks, newest first, at most `limit` entries.
    public func alertLog(filter: AlertFilter, limit: Int) throws -> [Alert] {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        switch filter.state {
        case .open: conditions.append("cleared_at IS NULL")
        case .closed: conditions.append("cleared_at IS NOT NULL")
        case .all: break
        }
        if let severity = filter.severity { conditions.append("severity = ?"); arguments.append(.text(severity.rawValue)) }
        conditions.append(Self.placeCondition(slots: filter.slots, includeChassis: filter.includeChassis))
        if let since = filter.since { conditions.append("raised_at >= ?"); arguments.append(.real(since)) }
        if let until = filter.until { conditions.append("raised_at <= ?"); arguments.append(.real(until)) }
        if let text = filter.text, !text.isEmpty {
            conditions.append("(instr(lower(message), lower(?)) > 0 OR instr(lower(metric_label), lower(?)) > 0)")
            arguments += [.text(text), .text(text)]
        }
        if let before = filter.beforeID { conditions.append("id < ?"); arguments.append(.integer(before)) }
        return try withDatabase { database in
            let statement = try database.statement("""
                SELECT \(StoreReader.alertColumns) FROM main.alerts
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT ?
                """)
            defer { statement.reset() }
            try statement.bind(arguments + [.integer(Int64(max(1, min(limit, AlertFilter.limitMax))))])
            var alerts: [Alert] = []
            while try statement.step() { alerts.append(Self.alert(statement)) }
            return alerts
        }
    }
}
