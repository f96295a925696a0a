import Access
import Control
import Foundation
import Model
import Store

/// The admins' pages: users with their roles, scopes, tokens and locks (forms that work without
/// scripts), and the audit log with filters and exports.
extension WebApp {
    func usersPage(_ exchange: Exchange) throws -> Response {
        let (outcome, problem) = try formOutcome(exchange) { try usersFormAction($0, exchange) }
        let (notice, createdToken) = outcome ?? (nil, nil)
        var view = basePage(title: "Users — Chassis Manager", page: "users", snapshot: nil, stale: false, local: exchange.local,
                            request: exchange.request, viewer: exchange.principal)
        let users = try userDocuments(exchange)
        let time = now()
        let counters = try state.snapshot(source: exchange.source).loginFailures.values
            .filter { LoginThrottle.verdict($0, now: time) != .allowed }.sorted { $0.key < $1.key }
        view.users = UsersPageView(
            notice: notice, problem: problem, createdToken: createdToken,
            users: users.map { user in
                UserRowView(name: user.name, role: user.role, scope: user.slots.map { $0.map(String.init).joined(separator: ",") } ?? "",
                            isCustomer: user.role == Role.customer.rawValue, created: Format.time(user.createdAt),
                            locked: user.lockedUntil.map { "locked until \(Format.time($0))" },
                            tokens: user.tokens.map { TokenRowView(id: $0.id, label: $0.label, created: Format.time($0.createdAt),
                                                                   expires: $0.expiresAt.map { Format.time($0) } ?? "never") },
                            hasTokens: !user.tokens.isEmpty, isSelf: user.name == exchange.principal?.user,
                            roleOptions: Role.allCases.map { RoleOptionView(name: $0.rawValue, selected: $0.rawValue == user.role) })
            },
            throttled: counters.map { record in
                ThrottleRowView(key: record.key, kind: record.key.hasPrefix("user:") ? "user" : "address",
                                name: String(record.key.drop(while: { $0 != ":" }).dropFirst()), failures: String(record.failures),
                                until: Format.time(record.lockedUntil ?? record.lastFailureAt))
            },
            roles: Role.allCases.map(\.rawValue))
        view.users?.hasThrottled = !counters.isEmpty
        var response = try page(view, template: "users", source: exchange.source)
        if problem != nil { response.status = 400 }
        return response
    }

    /// One form's change; returns the notice to show (and a new token's text, shown once).
    func usersFormAction(_ fields: [String: String], _ exchange: Exchange) throws -> (String?, String?) {
        func field(_ name: String) -> String? { fields[name].flatMap { $0.isEmpty ? nil : $0 } }
        func slots() throws -> [Int]? {
            guard let text = field("slots") else { return nil }
            var slots: [Int] = []
            for part in text.split(separator: ",") {
                guard let slot = Int(part.trimmingSpaces()) else { throw HTTPError(400, "slots must be numbers like 2,3") }
                slots.append(slot)
            }
            return slots
        }
        switch fields["action"] ?? "" {
        case "add":
            let request = try addUserRequest(name: field("name"), role: field("role"), password: fields["password"],
                                             slots: try slots(), chassis: field("chassis"))
            try requireAccepted(sendAsCaller(request, exchange))
            return ("User \(field("name") ?? "") added.", nil)
        case "update":
            guard let name = field("name") else { throw HTTPError(400, "name the user") }
            // The form always names a role (the user's own is preselected): the same role and no
            // new slots is a change of password alone.
            let current = try state.snapshot(source: exchange.source).users[name]
            let sameRole = field("role") == current?.role.rawValue && field("slots") == nil
            let request = try updateUserRequest(name: name, role: sameRole ? nil : field("role"), password: field("password"),
                                                slots: try slots(), chassis: field("chassis"), exchange: exchange)
            try requireAccepted(sendAsCaller(request, exchange))
            return ("User \(name) changed; their sessions have ended.", nil)
        case "remove":
            guard let name = field("name") else { throw HTTPError(400, "name the user") }
            guard name != exchange.principal?.user else { throw HTTPError(409, "you cannot remove yourself") }
            try requireAccepted(sendAsCaller(.removeUser(name: name), exchange))
            return ("User \(name) removed.", nil)
        case "token":
            let days = try field("days").map { text -> Int in
                guard let value = Int(text) else { throw HTTPError(400, "days must be a number") }
                return value
            }
            let (request, text) = try createTokenRequest(user: field("name"), label: fields["label"] ?? "", expiresInDays: days)
            try requireAccepted(sendAsCaller(request, exchange))
            return ("Token created for \(field("name") ?? ""). Copy it now: it is not shown again.", text)
        case "revoke":
            guard let id = field("id") else { throw HTTPError(400, "name the token") }
            try requireAccepted(try apiRevokeToken(exchange, id: id))
            return ("Token \(id) revoked.", nil)
        case "unlock":
            guard let key = field("key") else { throw HTTPError(400, "name the lock") }
            let request: ControlRequest = key.hasPrefix("user:") ? .liftLoginLock(user: String(key.dropFirst(5)), address: nil)
                : .liftLoginLock(user: nil, address: String(key.drop(while: { $0 != ":" }).dropFirst()))
            if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
            try requireAccepted(sendAsCaller(request, exchange))
            return ("Lock lifted.", nil)
        default:
            throw HTTPError(400, "unknown action")
        }
    }

    func auditPage(_ exchange: Exchange) throws -> Response {
        let (filter, limit) = try auditFilter(exchange)
        let records = try exchange.source.audit(filter: filter, limit: limit)
        var view = basePage(title: "Audit log — Chassis Manager", page: "audit", snapshot: nil, stale: false, local: exchange.local,
                            request: exchange.request, viewer: exchange.principal)
        view.audit = AuditPageView(
            actor: filter.actor ?? "", action: filter.action ?? "",
            since: exchange.values("since").first ?? "", until: exchange.values("until").first ?? "",
            records: records.map { record in
                AuditRowView(id: String(record.id), time: Format.time(record.at), timeISO: Format.isoTime(record.at),
                             actor: record.actor, role: record.role, address: record.address, via: record.via,
                             action: record.action, target: record.target, old: record.old ?? "", new: record.new ?? "")
            },
            count: records.count == 1 ? "1 record" : "\(records.count) records",
            csvURL: exchange.link("/api/v1/audit", dropping: ["format"], adding: ["format=csv"]),
            jsonURL: exchange.link("/api/v1/audit", dropping: ["format"]))
        return try page(view, template: "audit", source: exchange.source)
    }
}

struct UsersPageView {
    var notice: String?
    var problem: String?
    var createdToken: String?
    var users: [UserRowView]
    var throttled: [ThrottleRowView]
    var roles: [String]
    var hasThrottled = false
}

struct UserRowView {
    var name: String
    var role: String
    var scope: String
    var isCustomer: Bool
    var created: String
    var locked: String?
    var tokens: [TokenRowView]
    var hasTokens: Bool
    var isSelf: Bool
    /// The user's own role first selected: a change of password alone keeps the role.
    var roleOptions: [RoleOptionView]
}

struct RoleOptionView {
    var name: String
    var selected: Bool
}

struct TokenRowView {
    var id: String
    var label: String
    var created: String
    var expires: String
}

struct ThrottleRowView {
    var key: String
    var kind: String
    var name: String
    var failures: String
    var until: String
}

struct AuditPageView {
    var actor: String
    var action: String
    var since: String
    var until: String
    var records: [AuditRowView]
    var count: String
    var csvURL: String
    var jsonURL: String
}

struct AuditRowView {
    var id: String
    var time: String
    var timeISO: String
    var actor: String
    var role: String
    var address: String
    var via: String
    var action: String
    var target: String
    var old: String
    var new: String
}
