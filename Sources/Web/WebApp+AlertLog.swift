import Access
import Foundation
import Model
import Store

/// The alert log: every alert, open and closed, with filters, paging and exports
/// (`GET /api/v1/alerts?state=open|closed|all…`, the Alerts page). A customer reads only the
/// alerts of its slots, in every form.
extension WebApp {
    static let alertLogQueryNames: Set<String> = ["state", "severity", "slot", "since", "until", "text", "before", "limit", "format"]

    /// The filter the query asks for, within the caller's scope.
    func alertFilter(_ exchange: Exchange) throws -> (AlertFilter, Int) {
        func one(_ name: String) throws -> String? { try exchange.single(name) }
        var filter = AlertFilter()
        if let text = try one("state") {
            guard let state = AlertFilter.State(rawValue: text) else { throw HTTPError(400, "state must be open, closed or all") }
            filter.state = state
        }
        if let text = try one("severity") {
            guard let severity = Severity(rawValue: text) else { throw HTTPError(400, "severity must be warning or critical") }
            filter.severity = severity
        }
        let common = try logQuery(exchange, what: "an alert id")
        (filter.slots, filter.includeChassis) = (common.slots, common.includeChassis)
        (filter.since, filter.until, filter.text, filter.beforeID) = (common.since, common.until, common.text, common.beforeID)
        return (filter, try exchange.limit(default: 100, maximum: AlertFilter.limitMax))
    }

    /// The parameters the alert and event logs share, the places within the caller's scope: a
    /// customer asking for another slot, or for the chassis, gets nothing rather than an error.
    func logQuery(_ exchange: Exchange, what: String) throws
        -> (slots: [Int]?, includeChassis: Bool, since: Double?, until: Double?, text: String?, beforeID: Int64?) {
        var slot: Int?
        if let text = try exchange.single("slot") {
            guard let value = Int(text), (0...64).contains(value) else { throw HTTPError(400, "slot must be a number from 0 (the chassis) to 64") }
            slot = value
        }
        var slots: [Int]?
        var includeChassis = true
        switch (slot, scope(exchange)) {
        case (nil, nil): break
        case (0?, nil): (slots, includeChassis) = ([], true)
        case (let asked?, nil): (slots, includeChassis) = ([asked], false)
        case (nil, let scope?): (slots, includeChassis) = (scope.slots, false)
        case (let asked?, let scope?): (slots, includeChassis) = (scope.slots.filter { $0 == asked }, false)
        }
        var text: String?
        if let given = try exchange.single("text") {
            // Its InputError is the caller's 400 (the dispatch says so for every handler).
            try Validation.text(given, field: "text", bytesMax: 128, allowEmpty: true)
            text = given
        }
        var beforeID: Int64?
        if let given = try exchange.single("before") {
            guard let id = Int64(given), id > 0 else { throw HTTPError(400, "before must be \(what)") }
            beforeID = id
        }
        return (slots, includeChassis, try exchange.time("since"), try exchange.time("until"), text, beforeID)
    }

    /// `GET /api/v1/alerts` with any filter is the log; without one, the polled document of what
    /// is raised or new (as before).
    func apiAlertLog(_ exchange: Exchange) throws -> Response {
        let (filter, limit) = try alertFilter(exchange)
        let alerts = try exchange.source.alertLog(filter: filter, limit: limit)
        return try export(exchange, name: "chassis-alerts",
                          json: AlertLogDocument(alerts: alerts, next: alerts.count == limit ? alerts.last?.id : nil),
                          csv: { AlertCSV.render(alerts) })
    }

    /// A log as JSON (the default) or as a CSV download (`format=csv`).
    func export<T: Encodable>(_ exchange: Exchange, name: String, json document: T, csv: () -> String) throws -> Response {
        switch exchange.values("format").first ?? "json" {
        case "json":
            return try json(document)
        case "csv":
            return Response(status: 200, headers: [
                ("Content-Type", "text/csv; charset=utf-8"), ("Cache-Control", "no-store"),
                ("Content-Disposition", "attachment; filename=\"\(name).csv\""),
            ], body: Array(csv().utf8))
        default:
            throw HTTPError(400, "format must be json or csv")
        }
    }

    func alertsPage(_ exchange: Exchange) throws -> Response {
        let (filter, limit) = try alertFilter(exchange)
        let alerts = try exchange.source.alertLog(filter: filter, limit: limit)
        let current = try current(exchange)
        var view = basePage(title: "Alert log — Chassis Manager", page: "alerts", snapshot: current.snapshot, stale: current.stale,
                            local: exchange.local, request: exchange.request, viewer: exchange.principal)
        func link(_ base: String, _ extra: [String]) -> String {
            exchange.link(base, dropping: ["format", "before"], adding: extra)
        }
        view.alertLog = AlertLogPageView(
            state: filter.state.rawValue, severity: filter.severity?.rawValue ?? "",
            slot: exchange.values("slot").first ?? "", text: filter.text ?? "",
            alerts: alerts.map { ViewBuilder.alert(current.snapshot, $0) },
            hasAlerts: !alerts.isEmpty,
            count: alerts.count == 1 ? "1 alert" : "\(alerts.count) alerts",
            nextURL: alerts.count == limit ? alerts.last.map { link("/alerts", ["before=\($0.id)"]) } : nil,
            csvURL: link("/api/v1/alerts", ["format=csv"]), jsonURL: link("/api/v1/alerts", ["state=\(filter.state.rawValue)"]),
            stateOptions: AlertFilter.State.allCases.map { OptionView(value: $0.rawValue, label: $0.rawValue, selected: $0 == filter.state) },
            severityOptions: [OptionView(value: "", label: "any", selected: filter.severity == nil)]
                + [Severity.warning, .critical].map { OptionView(value: $0.rawValue, label: $0.rawValue, selected: $0 == filter.severity) })
        return try page(view, template: "alerts", source: exchange.source)
    }
}

/// The alert log as CSV, formula-safe like the audit log's.
enum AlertCSV {
    static let columns = ["id", "slot", "severity", "metric", "label", "message", "value", "raised", "cleared", "acknowledged",
                          "acknowledged_by"]

    static func render(_ alerts: [Alert]) -> String {
        AuditCSV.table(columns, alerts.map { alert in
            [String(alert.id), alert.slotID.map(String.init) ?? "chassis", alert.severity.rawValue, alert.metricKey,
             alert.metricLabel, alert.message, alert.value.map { "\($0)" } ?? "", Format.isoTime(alert.raisedAt),
             Format.isoTime(alert.clearedAt), Format.isoTime(alert.acknowledgedAt), alert.acknowledgedBy ?? ""]
        })
    }
}

struct AlertLogDocument: Encodable {
    var alerts: [Alert]
    /// The `before` of the next page, when there may be one.
    var next: Int64?
}

struct AlertLogPageView {
    var state: String
    var severity: String
    var slot: String
    var text: String
    var alerts: [AlertView]
    var hasAlerts: Bool
    var count: String
    var nextURL: String?
    var csvURL: String
    var jsonURL: String
    var stateOptions: [OptionView]
    var severityOptions: [OptionView]
}

struct OptionView {
    var value: String
    var label: String
    var selected: Bool
}
