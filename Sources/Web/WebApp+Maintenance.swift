import Access
import Control
import Foundation
import Model

/// Maintenance windows: listed for everyone (a customer sees those on its slots and on the whole
/// chassis), scheduled and cancelled by operators (`GET/POST /api/v1/maintenance`,
/// `DELETE /api/v1/maintenance/{id}`, the Settings page).
extension WebApp {
    func apiMaintenance(_ exchange: Exchange) throws -> Response {
        if exchange.request.method == "POST" {
            let input = try decode(MaintenanceInput.self, exchange)
            let response = sendAsCaller(try maintenanceRequest(input, exchange), exchange)
            guard response.status == 200 else { return response }
            var created = try json(MaintenanceDocument(maintenance: try current(exchange).snapshot.maintenance ?? []), status: 201)
            struct Created: Decodable { var id: Int64? }
            if let id = (try? JSONDecoder().decode(Created.self, from: Data(response.body)))?.id {
                created.setHeader("Location", "/api/v1/maintenance/\(id)")
            }
            return created
        }
        return try json(MaintenanceDocument(maintenance: try current(exchange).snapshot.maintenance ?? []))
    }

    func apiMaintenanceWindow(_ exchange: Exchange, id text: String) throws -> Response {
        guard let id = Int64(text), id > 0 else { throw HTTPError(400, "maintenance id must be a positive number") }
        return sendAsCaller(.removeMaintenance(id: id), exchange)
    }

    func maintenanceRequest(_ input: MaintenanceInput, _ exchange: Exchange) throws -> ControlRequest {
        let startsAt = input.startsAt ?? now()
        guard let endsAt = input.endsAt ?? input.durationSeconds.map({ startsAt + $0 }) else {
            throw HTTPError(400, "give endsAt or durationSeconds")
        }
        let by = exchange.principal?.user ?? "web " + exchange.request.remoteAddress
        let request = ControlRequest.addMaintenance(slotID: input.slot, startsAt: startsAt, endsAt: endsAt, reason: input.reason, by: by)
        if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
        if endsAt <= now() { throw HTTPError(400, "the window must end in the future") }
        return request
    }

    /// The Settings page's maintenance forms: schedule (`slot`, `hours`, `reason`) and cancel (`id`).
    func maintenanceFormAction(_ fields: [String: String], _ exchange: Exchange) throws -> String {
        if fields["action"] == "maintenance-remove" {
            guard let id = fields["id"].flatMap(Int64.init), id > 0 else { throw HTTPError(400, "which window?") }
            try requireAccepted(sendAsCaller(.removeMaintenance(id: id), exchange))
            return "Maintenance window cancelled."
        }
        var slot: Int?
        if let text = fields["slot"]?[...].trimmingSpaces(), !text.isEmpty {
            guard let value = Int(text) else { throw HTTPError(400, "slot must be a number, or empty for the whole chassis") }
            slot = value
        }
        guard let hours = fields["hours"].flatMap(Double.init), hours.isFinite, hours > 0 else {
            throw HTTPError(400, "hours must be a number more than 0")
        }
        let input = MaintenanceInput(slot: slot, startsAt: nil, endsAt: nil, durationSeconds: hours * 3_600, reason: fields["reason"] ?? "")
        try requireAccepted(sendAsCaller(try maintenanceRequest(input, exchange), exchange))
        return "Maintenance scheduled."
    }

    func maintenanceRows(_ snapshot: ChassisSnapshot) -> [MaintenanceRowView] {
        (snapshot.maintenance ?? []).map { window in
            MaintenanceRowView(id: String(window.id), place: window.slotID.map { "Slot \($0)" } ?? "Whole chassis",
                               starts: Format.time(window.startsAt), ends: Format.time(window.endsAt), reason: window.reason,
                               by: window.createdBy, current: window.startsAt <= snapshot.generatedAt)
        }
    }
}

struct MaintenanceDocument: Encodable {
    var maintenance: [MaintenanceWindow]
}

struct MaintenanceRowView {
    var id: String
    var place: String
    var starts: String
    var ends: String
    var reason: String
    var by: String
    var current: Bool
}
