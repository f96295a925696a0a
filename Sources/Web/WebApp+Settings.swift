import Access
import Control
import Foundation
import Model

/// The chassis' name and location and the sampling intervals: read by the staff, changed by
/// operators (`PATCH /api/v1/chassis`, `GET/PATCH /api/v1/intervals`, the Settings page), each
/// change a command of the replicated log that every blade applies (intervals take effect at
/// once on every blade's sampling timers).
extension WebApp {
    /// Each group's interval: the replicated one when an operator set it, else this blade's
    /// configuration file's.
    func intervals(_ exchange: Exchange) throws -> [IntervalDocument] {
        try SamplingGroup.allCases.map { group in
            let interval = group.interval(setting: try exchange.source.setting(group.intervalSettingKey), fileMs: defaultIntervalsMs[group])
            return IntervalDocument(group: group.rawValue, intervalMs: interval.ms,
                                    source: interval.fromChassis ? "chassis" : "configuration file")
        }
    }

    func apiIntervals(_ exchange: Exchange) throws -> Response {
        if exchange.request.method == "PATCH" {
            let input = try decode(IntervalsInput.self, exchange)
            let requests = try input.values.sorted(by: { $0.key < $1.key }).map { name, value -> ControlRequest in
                try intervalRequest(group: name, milliseconds: value)
            }
            for request in requests {
                let response = sendAsCaller(request, exchange)
                guard response.status == 200 else { return response }
            }
        }
        return try json(IntervalsDocument(intervals: try intervals(exchange)))
    }

    /// Table I: each group's class, mode, interval and the members it goes to.
    func replicationRows(_ exchange: Exchange) throws -> [ReplicationDocument.Row] {
        let intervals = Dictionary(try intervals(exchange).map { ($0.group, $0) }, uniquingKeysWith: { first, _ in first })
        return try SamplingGroup.allCases.map { group in
            let interval = intervals[group.rawValue]
            let members = try exchange.source.setting(ReplicationPolicy.settingPrefix + group.rawValue).map(ReplicationPolicy.decodeList)
            return ReplicationDocument.Row(
                group: group.rawValue, metricClass: ReplicationPolicy.metricClass(group).rawValue,
                mode: ReplicationPolicy.isStatic(group) ? "static" : "dynamic",
                intervalMs: interval?.intervalMs ?? group.defaultIntervalMs, intervalSource: interval?.source ?? "default",
                replicatedTo: members.map(ReplicationDocument.Targets.members) ?? .all)
        }
    }

    /// `GET /api/v1/replication`; `PATCH` with `{"network": ["blade1", "blade2"], "disk": "all"}`.
    func apiReplication(_ exchange: Exchange) throws -> Response {
        if exchange.request.method == "PATCH" {
            let input = try decode(ReplicationInput.self, exchange)
            for (name, members) in input.values.sorted(by: { $0.key < $1.key }) {
                guard let group = SamplingGroup(rawValue: name) else {
                    throw HTTPError(400, "unknown group \"\(name.prefix(40))\"; groups: \(SamplingGroup.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let request = ControlRequest.setReplication(group: group, members: members)
                if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, "\(name): \(problem)") }
                let response = sendAsCaller(request, exchange)
                guard response.status == 200 else { return response }
            }
        }
        return try json(ReplicationDocument(groups: try replicationRows(exchange)))
    }

    func intervalRequest(group name: String, milliseconds: Int) throws -> ControlRequest {
        guard let group = SamplingGroup(rawValue: name) else {
            throw HTTPError(400, "unknown group \"\(name.prefix(40))\"; groups: \(SamplingGroup.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let request = ControlRequest.setInterval(group: group, intervalMs: milliseconds)
        if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, "\(name): \(problem)") }
        return request
    }

    func apiSetChassis(_ exchange: Exchange) throws -> Response {
        let input = try decode(ChassisInput.self, exchange)
        let request = ControlRequest.setChassisInfo(name: input.name, site: input.site, row: input.row, rack: input.rack,
                                                    shelf: input.shelf)
        if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
        return sendAsCaller(request, exchange)
    }

    func settingsPage(_ exchange: Exchange) throws -> Response {
        let (notice, problem) = try formOutcome(exchange) { try settingsFormAction($0, exchange) }
        let current = try current(exchange)
        let chassis = current.snapshot.chassis
        var view = basePage(title: "Settings — Chassis Manager", page: "settings", snapshot: current.snapshot, stale: current.stale,
                            local: exchange.local, request: exchange.request, viewer: exchange.principal)
        view.settings = SettingsPageView(
            notice: notice, problem: problem,
            canEdit: exchange.principal.map { Route.settingsPage.rule(method: "POST").permits($0.role) } ?? false,
            name: chassis.name, site: chassis.site, row: chassis.row, rack: chassis.rack, shelf: chassis.shelf,
            chassisID: chassis.chassisID,
            intervals: try intervals(exchange).map { IntervalRowView(group: $0.group, intervalMs: String($0.intervalMs), source: $0.source) },
            maintenance: maintenanceRows(current.snapshot), hasMaintenance: !(current.snapshot.maintenance ?? []).isEmpty,
            replication: try replicationViews(exchange))
        var response = try page(view, template: "settings", source: exchange.source)
        if problem != nil { response.status = 400 }
        return response
    }

    func settingsFormAction(_ fields: [String: String], _ exchange: Exchange) throws -> String {
        switch fields["action"] ?? "" {
        case "chassis":
            let request = ControlRequest.setChassisInfo(name: fields["name"], site: fields["site"], row: fields["row"],
                                                        rack: fields["rack"], shelf: fields["shelf"])
            if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
            try requireAccepted(sendAsCaller(request, exchange))
            return "Chassis name and location saved."
        case "intervals":
            let current = try intervals(exchange)
            var changed: [String] = []
            for row in current {
                guard let text = fields[row.group]?[...].trimmingSpaces(), !text.isEmpty else { continue }
                guard let value = Int(text) else { throw HTTPError(400, "\(row.group) must be a whole number of milliseconds") }
                guard value != row.intervalMs else { continue } // an unchanged field leaves the group where it is set
                try requireAccepted(sendAsCaller(try intervalRequest(group: row.group, milliseconds: value), exchange))
                changed.append(row.group)
            }
            return changed.isEmpty ? "No interval changed." : "Intervals saved: \(changed.joined(separator: ", "))."
        case "replication":
            let members = try clusterMemberNames(exchange)
            var changed: [String] = []
            for row in try replicationRows(exchange) {
                guard fields["to.\(row.group)"] != nil, let group = SamplingGroup(rawValue: row.group) else { continue }
                let chosen = members.filter { fields["to.\(row.group).\($0)"] != nil }
                let wanted: [String]? = chosen.count == members.count ? nil : chosen
                let current: [String]? = { if case .members(let names) = row.replicatedTo { return names.sorted() } else { return nil } }()
                guard wanted?.sorted() != current else { continue }
                try requireAccepted(sendAsCaller(.setReplication(group: group, members: wanted), exchange))
                changed.append(row.group)
            }
            return changed.isEmpty ? "No replication changed." : "Replication saved: \(changed.joined(separator: ", "))."
        case "maintenance", "maintenance-remove":
            return try maintenanceFormAction(fields, exchange)
        default:
            throw HTTPError(400, "unknown action")
        }
    }
}

struct IntervalDocument: Encodable {
    var group: String
    var intervalMs: Int
    /// `chassis` (set by an operator, replicated) or `configuration file` (this blade's).
    var source: String
}

struct IntervalsDocument: Encodable { var intervals: [IntervalDocument] }

struct SettingsPageView {
    var notice: String?
    var problem: String?
    var canEdit: Bool
    var name: String
    var site: String
    var row: String
    var rack: String
    var shelf: String
    var chassisID: String
    var intervals: [IntervalRowView]
    var maintenance: [MaintenanceRowView]
    /// Stored, not computed: templates see stored properties only.
    var hasMaintenance: Bool
    var replication: [ReplicationRowView]
}

struct ReplicationRowView {
    var group: String
    var metricClass: String
    var mode: String
    var replicatedTo: String
    var members: [ReplicationMemberView]
}

struct ReplicationMemberView {
    var name: String
    var checked: Bool
}

struct ReplicationDocument: Encodable {
    enum Targets: Encodable, Equatable {
        case all
        case members([String])

        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .all: try container.encode("all")
            case .members(let names): try container.encode(names)
            }
        }
    }

    struct Row: Encodable {
        var group: String
        var metricClass: String
        var mode: String
        var intervalMs: Int
        var intervalSource: String
        var replicatedTo: Targets
    }

    var groups: [Row]
}

struct IntervalRowView {
    var group: String
    var intervalMs: String
    var source: String
}

extension WebApp {
    /// The blades of the chassis (witnesses hold no values), by name.
    func clusterMemberNames(_ exchange: Exchange) throws -> [String] {
        try exchange.source.cluster().members.filter { $0.slotID != nil }.map(\.name).sorted()
    }

    func replicationViews(_ exchange: Exchange) throws -> [ReplicationRowView] {
        let members = (try? clusterMemberNames(exchange)) ?? []
        return try replicationRows(exchange).map { row in
            let chosen: Set<String>? = { if case .members(let names) = row.replicatedTo { return Set(names) } else { return nil } }()
            return ReplicationRowView(
                group: row.group, metricClass: row.metricClass, mode: row.mode,
                replicatedTo: chosen.map { $0.isEmpty ? "no other member" : $0.sorted().joined(separator: ", ") } ?? "all members",
                members: members.map { ReplicationMemberView(name: $0, checked: chosen?.contains($0) ?? true) })
        }
    }
}
