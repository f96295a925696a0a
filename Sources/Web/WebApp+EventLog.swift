import Access
import Foundation
import Model
import Store

/// The event log: alerts raised, acknowledged and cleared, modules inserted and replaced, members
/// added and removed, in the order the replicated log decided them (`GET /api/v1/events`, the
/// Events page). A customer reads only the events of its slots, in every form.
extension WebApp {
    static let eventLogQueryNames: Set<String> = ["severity", "kind", "slot", "since", "until", "text", "before", "limit", "format"]

    func eventFilter(_ exchange: Exchange) throws -> (EventFilter, Int) {
        var filter = EventFilter()
        if let text = try exchange.single("severity") {
            guard let severity = EventSeverity(rawValue: text) else { throw HTTPError(400, "severity must be info, warning or critical") }
            filter.minimumSeverity = severity
        }
        if let text = try exchange.single("kind") {
            let families = Set(ChassisEvent.Kind.allCases.map { String($0.rawValue.prefix { $0 != "." }) })
            guard ChassisEvent.Kind(rawValue: text) != nil || families.contains(text) else {
                throw HTTPError(400, "kind must be one of \((families.sorted() + ChassisEvent.Kind.allCases.map(\.rawValue)).joined(separator: ", "))")
            }
            filter.kind = text
        }
        let common = try logQuery(exchange, what: "an event id")
        (filter.slots, filter.includeChassis) = (common.slots, common.includeChassis)
        (filter.since, filter.until, filter.text, filter.beforeID) = (common.since, common.until, common.text, common.beforeID)
        return (filter, try exchange.limit(default: 100, maximum: EventFilter.limitMax))
    }

    func apiEvents(_ exchange: Exchange) throws -> Response {
        let (filter, limit) = try eventFilter(exchange)
        let events = try exchange.source.eventLog(filter: filter, limit: limit)
        return try export(exchange, name: "chassis-events",
                          json: EventLogDocument(events: events, next: events.count == limit ? events.last?.id : nil),
                          csv: { EventCSV.render(events) })
    }

    func eventsPage(_ exchange: Exchange) throws -> Response {
        let (filter, limit) = try eventFilter(exchange)
        let events = try exchange.source.eventLog(filter: filter, limit: limit)
        let current = try current(exchange)
        var view = basePage(title: "Event log — Chassis Manager", page: "events", snapshot: current.snapshot, stale: current.stale,
                            local: exchange.local, request: exchange.request, viewer: exchange.principal)
        func link(_ base: String, _ extra: [String]) -> String {
            exchange.link(base, dropping: ["format", "before"], adding: extra)
        }
        let chassisID = current.snapshot.chassis.chassisID
        view.eventLog = EventLogPageView(
            slot: exchange.values("slot").first ?? "", text: filter.text ?? "", kind: filter.kind ?? "",
            events: events.map { event in
                EventRowView(id: String(event.id), kind: event.kind.rawValue, severity: event.severity.rawValue,
                             place: event.slotID.map { "Slot \($0)" } ?? "Chassis",
                             href: event.slotID.map { ViewBuilder.slotPath(chassisID, $0) },
                             message: event.message, at: Format.time(event.at), atISO: Format.isoTime(event.at))
            },
            hasEvents: !events.isEmpty,
            count: events.count == 1 ? "1 event" : "\(events.count) events",
            nextURL: events.count == limit ? events.last.map { link("/events", ["before=\($0.id)"]) } : nil,
            csvURL: link("/api/v1/events", ["format=csv"]), jsonURL: link("/api/v1/events", []),
            severityOptions: [OptionView(value: "", label: "any", selected: filter.minimumSeverity == nil)]
                + EventSeverity.allCases.map { OptionView(value: $0.rawValue, label: "\($0.rawValue) and above", selected: $0 == filter.minimumSeverity) })
        return try page(view, template: "events", source: exchange.source)
    }
}

/// The event log as CSV, formula-safe like the audit log's.
enum EventCSV {
    static let columns = ["id", "at", "kind", "severity", "slot", "alert", "metric", "message"]

    static func render(_ events: [ChassisEvent]) -> String {
        AuditCSV.table(columns, events.map { event in
            [String(event.id), Format.isoTime(event.at), event.kind.rawValue, event.severity.rawValue,
             event.slotID.map(String.init) ?? "chassis", event.alertID.map(String.init) ?? "", event.metricKey ?? "", event.message]
        })
    }
}

struct EventLogDocument: Encodable {
    var events: [ChassisEvent]
    var next: Int64?
}

struct EventLogPageView {
    var slot: String
    var text: String
    var kind: String
    var events: [EventRowView]
    var hasEvents: Bool
    var count: String
    var nextURL: String?
    var csvURL: String
    var jsonURL: String
    var severityOptions: [OptionView]
}

struct EventRowView {
    var id: String
    var kind: String
    var severity: String
    var place: String
    var href: String?
    var message: String
    var at: String
    var atISO: String
}
