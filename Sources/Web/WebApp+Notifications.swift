import Access
import Control
import Foundation
import Model

/// Where notifications go: read by the staff, set by admins (`GET/PUT /api/v1/notifications`,
/// the Notifications page), tested by admins (`POST /api/v1/notifications/test`). A password
/// is written, never read back: the document says only whether one is set.
extension WebApp {
    func notificationTargets(_ exchange: Exchange) throws -> NotificationTargets {
        guard let text = try exchange.source.setting("notifications") else { return NotificationTargets() }
        do {
            return try JSONDecoder().decode(NotificationTargets.self, from: Data(text.utf8))
        } catch {
            throw HTTPError(500, "the stored notification targets do not read: \(error)")
        }
    }

    func notificationsDocument(_ exchange: Exchange) throws -> NotificationsDocument {
        let targets = try notificationTargets(exchange)
        let passwordSet = Set(targets.email.filter { $0.sealedPassword != nil }.map(\.id))
        let statuses = (try? exchange.source.cluster().notifications) ?? nil
        return NotificationsDocument(
            alertmanager: targets.alertmanager, syslog: targets.syslog,
            email: targets.withoutSecrets.email.map { EmailTargetDocument(target: $0, passwordSet: passwordSet.contains($0.id)) },
            hooks: targets.hooks, ids: targets.ids, delivery: statuses)
    }

    func apiNotifications(_ exchange: Exchange) throws -> Response {
        if exchange.request.method == "PUT" {
            let targets = try decode(NotificationTargets.self, exchange)
            try requireAccepted(sendAsCaller(try notificationsRequest(targets), exchange))
        }
        return try json(try notificationsDocument(exchange))
    }

    func notificationsRequest(_ targets: NotificationTargets) throws -> ControlRequest {
        if targets.email.contains(where: { $0.sealedPassword != nil }) {
            throw HTTPError(400, "sealedPassword is the engine's: give password instead (or leave it out to keep the one set)")
        }
        let request = ControlRequest.setNotifications(targets)
        if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
        return request
    }

    func apiNotificationsTest(_ exchange: Exchange) throws -> Response {
        let reply = try testNotifications(exchange)
        // The engine's refusal (no targets: 409; not the active manager: 409) is the caller's to
        // read; a target that failed is 502 (found by schemathesis).
        let status = reply.ok ? 200 : [400, 404, 409, 503].contains(reply.code) ? reply.code : 502
        return try json(NotificationTestDocument(ok: reply.ok, report: reply.report ?? [], error: reply.error), status: status)
    }

    func testNotifications(_ exchange: Exchange) throws -> ControlResponse {
        do {
            return try control.send(.testNotifications, actor: exchange.principal?.actor(address: exchange.request.remoteAddress))
        } catch {
            throw HTTPError(503, "the engine did not answer: \(error)")
        }
    }

    func notificationsPage(_ exchange: Exchange) throws -> Response {
        let (notice, problem) = try formOutcome(exchange) { fields -> String in
            switch fields["action"] ?? "" {
            case "save":
                let text = fields["targets"] ?? ""
                guard text.utf8.count <= 32 * 1024 else { throw HTTPError(413, "the targets are longer than 32 KiB") }
                let targets: NotificationTargets
                do {
                    targets = try Validation.decodeJSON(NotificationTargets.self, from: Array(text.utf8))
                } catch {
                    throw HTTPError(400, "the targets are not valid: \(error)")
                }
                try requireAccepted(sendAsCaller(try notificationsRequest(targets), exchange))
                return "Notification targets saved."
            case "test":
                let reply = try testNotifications(exchange)
                let lines = (reply.report ?? []).joined(separator: "; ")
                guard reply.ok else { throw HTTPError(502, lines.isEmpty ? (reply.error ?? "the test failed") : lines) }
                return "Test sent: \(lines)"
            default:
                throw HTTPError(400, "unknown action")
            }
        }
        let document = try notificationsDocument(exchange)
        let current = try current(exchange)
        var view = basePage(title: "Notifications — Chassis Manager", page: "notifications", snapshot: current.snapshot,
                            stale: current.stale, local: exchange.local, request: exchange.request, viewer: exchange.principal)
        let statuses = Dictionary((document.delivery ?? []).map { ($0.target, $0) }, uniquingKeysWith: { first, _ in first })
        func row(_ id: String, _ kind: String, _ address: String, _ minimum: EventSeverity) -> NotificationRowView {
            let status = statuses[id]
            return NotificationRowView(
                id: id, kind: kind, address: address, minimum: minimum.rawValue,
                sent: status.map { String($0.sent) } ?? "—", failed: status.map { String($0.failed) } ?? "—",
                dropped: status.map { String($0.dropped) } ?? "—",
                lastSuccess: status?.lastSuccessAt.map(Format.time) ?? "—",
                lastError: status?.lastError.map { "\($0) (\(Format.time(status?.lastFailureAt)))" } ?? "")
        }
        var rows = document.alertmanager.map { row($0.id, "Alertmanager", $0.url, $0.minimumSeverity) }
        rows += document.syslog.map { row($0.id, "syslog", "\($0.transport.rawValue)://\($0.host):\($0.port)", $0.minimumSeverity) }
        rows += document.email.map {
            row($0.target.id, "email", "\($0.target.server):\($0.target.port) → \($0.target.to.joined(separator: ", "))"
                + ($0.passwordSet ? " (login \($0.target.username ?? ""))" : ""), $0.target.minimumSeverity)
        }
        rows += document.hooks.map { row($0.id, "hook", $0.command, $0.minimumSeverity) }
        let canEdit = exchange.principal.map { Route.notificationsPage.rule(method: "POST").permits($0.role) } ?? false
        let editable = NotificationTargets(alertmanager: document.alertmanager, syslog: document.syslog,
                                           email: document.email.map(\.target), hooks: document.hooks)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let encoded: Data = (try? encoder.encode(editable)) ?? Data("{}".utf8)
        let text = String(decoding: encoded, as: UTF8.self)
        view.notifications = NotificationsPageView(notice: notice, problem: problem, canEdit: canEdit, rows: rows,
                                                   hasRows: !rows.isEmpty, json: text, sentByActive: document.delivery != nil)
        var response = try page(view, template: "notifications", source: exchange.source)
        if problem != nil { response.status = 400 }
        return response
    }
}

struct EmailTargetDocument: Encodable {
    var target: EmailTarget
    var passwordSet: Bool

    func encode(to encoder: Encoder) throws {
        try target.encode(to: encoder)
        var container = encoder.container(keyedBy: AnyKey.self)
        try container.encode(passwordSet, forKey: AnyKey(stringValue: "passwordSet"))
        try container.encode(target.id, forKey: AnyKey(stringValue: "id"))
    }
}

struct NotificationsDocument: Encodable {
    var alertmanager: [AlertmanagerTarget]
    var syslog: [SyslogTarget]
    var email: [EmailTargetDocument]
    var hooks: [HookTarget]
    /// Every target's id, in the order of the lists (the `target` of `delivery`).
    var ids: [String]
    /// Each target's delivery as the active manager counts it; absent on other blades.
    var delivery: [NotificationStatus]?
}

struct NotificationTestDocument: Encodable {
    var ok: Bool
    var report: [String]
    var error: String?
}

struct NotificationsPageView {
    var notice: String?
    var problem: String?
    var canEdit: Bool
    var rows: [NotificationRowView]
    var hasRows: Bool
    var json: String
    var sentByActive: Bool
}

struct NotificationRowView {
    var id: String
    var kind: String
    var address: String
    var minimum: String
    var sent: String
    var failed: String
    var dropped: String
    var lastSuccess: String
    var lastError: String
}
