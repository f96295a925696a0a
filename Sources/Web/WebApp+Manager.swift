import Access
import Control
import Foundation
import Model

/// The managers: every member with its role, address and when it was last heard, the term, the
/// quorum and this blade's lease, the notifications' delivery; for admins, a hand-over and the
/// membership (`/manager`, `POST /api/v1/cluster/handover`, `POST /api/v1/cluster/members`,
/// `DELETE /api/v1/cluster/members/{name}`). Each change is the engine's, and in the audit log.
extension WebApp {
    func apiHandOver(_ exchange: Exchange) throws -> Response {
        let input = exchange.request.body.isEmpty ? HandOverInput(to: nil) : try decode(HandOverInput.self, exchange)
        let request = ControlRequest.handOver(to: input.to.flatMap { $0.isEmpty ? nil : $0 })
        if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
        return sendAsCaller(request, exchange)
    }

    func apiAddMember(_ exchange: Exchange) throws -> Response {
        let input = try decode(MemberInput.self, exchange)
        let request = ControlRequest.addMember(name: input.name, address: input.address, slot: input.slot, port: input.port,
                                               priority: input.priority, witness: input.witness ?? false)
        if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
        return sendAsCaller(request, exchange)
    }

    func managerPage(_ exchange: Exchange) throws -> Response {
        let (notice, problem) = try formOutcome(exchange) { fields -> String in
            switch fields["action"] ?? "" {
            case "handover":
                let target = fields["to"].flatMap { $0.isEmpty ? nil : $0 }
                try requireAccepted(sendAsCaller(.handOver(to: target), exchange))
                return "Handed over\(target.map { " to \($0)" } ?? ""): this page now follows the new active manager."
            case "add":
                let request = ControlRequest.addMember(
                    name: fields["name"] ?? "", address: fields["address"] ?? "",
                    slot: fields["slot"].flatMap { $0.isEmpty ? nil : Int($0) }, port: Int(fields["port"] ?? "") ?? 0,
                    priority: fields["priority"].flatMap { $0.isEmpty ? nil : Int($0) }, witness: fields["witness"] == "on")
                if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
                try requireAccepted(sendAsCaller(request, exchange))
                return "Member \(fields["name"] ?? "") added."
            case "remove":
                let name = fields["name"] ?? ""
                try requireAccepted(sendAsCaller(.removeMember(name: name), exchange))
                return "Member \(name) removed."
            default:
                throw HTTPError(400, "unknown action")
            }
        }
        let current = try current(exchange)
        let cluster = try exchange.source.cluster()
        let local = exchange.local
        let now = self.now()
        var view = basePage(title: "Managers — Chassis Manager", page: "manager", snapshot: current.snapshot, stale: current.stale,
                            local: local, request: exchange.request, viewer: exchange.principal)
        let canEdit = exchange.principal.map { Route.managerPage.rule(method: "POST").permits($0.role) } ?? false
        let members = cluster.members.map { member in
            ManagerMemberView(
                name: member.name, address: member.address, slot: member.slotID.map(String.init) ?? "witness",
                role: member.role.rawValue, isActive: member.name == cluster.active?.name,
                lastHeard: member.lastHeardAt.map { Format.time($0) + " (" + Self.ago(now - $0) + ")" } ?? "never",
                memberID: member.memberID.map { String($0) } ?? "", peerPort: member.peerPort.map(String.init) ?? "",
                canRemove: canEdit && member.name != cluster.active?.name)
        }
        let failing = (cluster.notifications ?? []).filter { $0.failed > 0 || $0.dropped > 0 }
        view.manager = ManagerPageView(
            notice: notice, problem: problem, canEdit: canEdit, term: String(cluster.term),
            active: cluster.active.map { "\($0.name) (\($0.address))" } ?? "none",
            quorum: cluster.quorum, reason: cluster.reason ?? "",
            servedBy: local.map { "\($0.blade) (\($0.address)), \($0.role.rawValue)" } ?? "",
            leaseValid: local?.leaseValid ?? false, members: members,
            handOverTargets: cluster.members.filter { $0.name != cluster.active?.name && $0.slotID != nil }.map(\.name),
            notificationsFailing: failing.map { "\($0.target): \($0.failed) failed, \($0.dropped) dropped" + ($0.lastError.map { ", last: \($0)" } ?? "") },
            notificationsSent: (cluster.notifications ?? []).reduce(0) { $0 + $1.sent })
        var response = try page(view, template: "manager", source: exchange.source)
        if problem != nil { response.status = 400 }
        return response
    }

    static func ago(_ seconds: Double) -> String {
        if seconds < 1 { return "just now" }
        if seconds < 120 { return "\(Int(seconds)) s ago" }
        if seconds < 7_200 { return "\(Int(seconds / 60)) min ago" }
        return "\(Int(seconds / 3_600)) h ago"
    }
}

struct ManagerPageView {
    var notice: String?
    var problem: String?
    var canEdit: Bool
    var term: String
    var active: String
    var quorum: Bool
    var reason: String
    var servedBy: String
    var leaseValid: Bool
    var members: [ManagerMemberView]
    var handOverTargets: [String]
    var notificationsFailing: [String]
    var notificationsSent: Int
}

struct ManagerMemberView {
    var name: String
    var address: String
    var slot: String
    var role: String
    var isActive: Bool
    var lastHeard: String
    var memberID: String
    var peerPort: String
    var canRemove: Bool
}
