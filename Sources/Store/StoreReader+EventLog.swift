import Model

/// Which events the event log shows: the same places (a customer's slots) and times as the alert
/// log, a severity at least, and a kind or a family of kinds (`alert` for every `alert.…`).
public struct EventFilter: Sendable, Equatable {
    public var minimumSeverity: EventSeverity?
    public var kind: String?
    public var slots: [Int]?
    public var includeChassis: Bool
    public var since: Double?
    public var until: Double?
    public var text: String?
    public var beforeID: Int64?

    public init(minimumSeverity: EventSeverity? = nil, kind: String? = nil, slots: [Int]? = nil, includeChassis: Bool = true,
                since: Double? = nil, until: Double? = nil, text: String? = nil, beforeID: Int64? = nil) {
        self.minimumSeverity = minimumSeverity
        self.kind = kind
        self.slots = slots
        self.includeChassis = includeChassis
        self.since = since
        self.until = until
        self.text = text
        self.beforeID = beforeID
    }

    /// At most this many events in one answer.
    public static let limitMax = 1_000
}

extension StoreReader {
    /// The event log as `filter` asks, newest first, at most `limit` entries.
    public func eventLog(filter: EventFilter, limit: Int) throws -> [ChassisEvent] {
        var conditions = [Self.placeCondition(slots: filter.slots, includeChassis: filter.includeChassis)]
        var arguments: [SQLValue] = []
        if let minimum = filter.minimumSeverity {
            let names = EventSeverity.allCases.filter { $0 >= minimum }.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            conditions.append("severity IN (\(names))")
        }
        if let kind = filter.kind {
            conditions.append("(kind = ? OR substr(kind, 1, ?) = ?)")
            arguments += [.text(kind), .integer(Int64(kind.utf8.count + 1)), .text(kind + ".")]
        }
        if let since = filter.since { conditions.append("at >= ?"); arguments.append(.real(since)) }
        if let until = filter.until { conditions.append("at <= ?"); arguments.append(.real(until)) }
        if let text = filter.text, !text.isEmpty {
            conditions.append("instr(lower(message), lower(?)) > 0")
            arguments.append(.text(text))
        }
        if let before = filter.beforeID { conditions.append("id < ?"); arguments.append(.integer(before)) }
        return try withDatabase { database in
            let statement = try database.statement("""
                SELECT \(Self.eventColumns) FROM main.events WHERE \(conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT ?
                """)
            defer { statement.reset() }
            try statement.bind(arguments + [.integer(Int64(max(1, min(limit, EventFilter.limitMax))))])
            var events: [ChassisEvent] = []
            while try statement.step() { if let event = Self.event(statement) { events.append(event) } }
            return events
        }
    }
}
