import Access
import Control
import Foundation
import Model
import Store

/// Users, API tokens, login locks and the audit log: the admins' API and pages. Every change
/// goes to the engine, through the replicated log, with the admin as its actor.
extension WebApp {
    // MARK: Documents

    func userDocuments(_ exchange: Exchange) throws -> [UserDocument] {
        let accessState = try state.snapshot(source: exchange.source)
        let time = now()
        return accessState.users.values.sorted { ($0.role, $0.name) < ($1.role, $1.name) }.map { user in
            let failures = accessState.loginFailures[LoginFailures.userKey(user.name)]
            let verdict = LoginThrottle.verdict(failures, now: time)
            var lockedUntil: Double?
            if case .locked(let until) = verdict { lockedUntil = until }
            return UserDocument(
                name: user.name, role: user.role.rawValue, slots: user.scope?.slots, chassis: user.scope?.chassisID,
                createdAt: user.createdAt, updatedAt: user.updatedAt, failedLogins: failures?.failures ?? 0,
                lockedUntil: lockedUntil,
                tokens: accessState.tokens.values.filter { $0.user == user.name }.sorted { $0.createdAt < $1.createdAt }
                    .map(TokenDocument.init))
        }
    }

    /// Sends a change on behalf of the caller and maps the engine's answer onto HTTP.
    func sendAsCaller(_ request: ControlRequest, _ exchange: Exchange) -> Response {
        let response = send(request, actor: exchange.principal?.actor(address: exchange.request.remoteAddress))
        if response.status < 300 { exchange.source.expectChange() }
        return response
    }

    // MARK: Users

    func apiUsers(_ exchange: Exchange) throws -> Response {
        if exchange.request.method != "POST" { return try json(UsersDocument(users: try userDocuments(exchange))) }
        let input = try decode(UserInput.self, exchange)
        let request = try addUserRequest(name: input.name, role: input.role, password: input.password, slots: input.slots,
                                         chassis: input.chassis)
        var response = sendAsCaller(request, exchange)
        if response.status == 200 { response.status = 201 }
        return response
    }

    func addUserRequest(name: String?, role: String?, password: String?, slots: [Int]?, chassis: String?) throws -> ControlRequest {
        guard let name, let roleText = role, let password else { throw HTTPError(400, "name, role and password are required") }
        guard let role = Role(rawValue: roleText) else { throw HTTPError(400, "role must be admin, operator, viewer or customer") }
        if let problem = ControlValidation.userNameProblem(name) { throw HTTPError(400, problem) }
        let scope = role == .customer ? AccessScope(chassisID: chassis, slots: slots ?? []) : nil
        if role != .customer && (slots != nil || chassis != nil) { throw HTTPError(400, "only customers have slots") }
        if let problem = ControlValidation.scopeProblem(role: role, scope: scope) { throw HTTPError(400, problem) }
        if let problem = PasswordHash.problem(withNewPassword: password) { throw HTTPError(400, problem) }
        return .addUser(name: name, role: role, scope: scope, passwordHash: try hash(password))
    }

    func hash(_ password: String) throws -> String {
        do {
            return try PasswordHash.make(password: password, parameters: access.passwordParameters)
        } catch {
            throw HTTPError(500, "cannot hash the password: \(error)")
        }
    }

    func apiUser(_ exchange: Exchange, name: String) throws -> Response {
        if let problem = ControlValidation.userNameProblem(name) { throw HTTPError(400, problem) }
        if exchange.request.method == "DELETE" {
            guard name != exchange.principal?.user else { throw HTTPError(409, "you cannot remove yourself") }
            return sendAsCaller(.removeUser(name: name), exchange)
        }
        let input = try decode(UserChangeInput.self, exchange)
        return sendAsCaller(try updateUserRequest(name: name, role: input.role, password: input.password, slots: input.slots,
                                                  chassis: input.chassis, exchange: exchange), exchange)
    }

    func updateUserRequest(name: String, role: String?, password: String?, slots: [Int]?, chassis: String?,
                           exchange: Exchange) throws -> ControlRequest {
        var newRole: Role?
        var scope: AccessScope?
        if let role {
            guard let parsed = Role(rawValue: role) else { throw HTTPError(400, "role must be admin, operator, viewer or customer") }
            newRole = parsed
        } else if slots != nil || chassis != nil {
            // New slots for a customer keep the role.
            guard let user = try state.snapshot(source: exchange.source).users[name] else { throw HTTPError(404, "no user \(name)") }
            newRole = user.role
        }
        if let newRole {
            // Like removing yourself: an admin does not take away its own role (found by schemathesis).
            if name == exchange.principal?.user, newRole != exchange.principal?.role {
                throw HTTPError(409, "you cannot change your own role: ask another admin")
            }
            scope = newRole == .customer ? AccessScope(chassisID: chassis, slots: slots ?? []) : nil
            if newRole != .customer && (slots != nil || chassis != nil) { throw HTTPError(400, "only customers have slots") }
            if let problem = ControlValidation.scopeProblem(role: newRole, scope: scope) { throw HTTPError(400, problem) }
        }
        var passwordHash: String?
        if let password {
            if let problem = PasswordHash.problem(withNewPassword: password) { throw HTTPError(400, problem) }
            passwordHash = try hash(password)
        }
        guard newRole != nil || passwordHash != nil else { throw HTTPError(400, "give a role, slots or a password to change") }
        return .updateUser(name: name, role: newRole, scope: scope, passwordHash: passwordHash)
    }

    // MARK: Tokens

    func apiTokens(_ exchange: Exchange) throws -> Response {
        if exchange.request.method != "POST" {
            let tokens = try state.snapshot(source: exchange.source).tokens.values.sorted { $0.createdAt < $1.createdAt }
            return try json(TokensDocument(tokens: tokens.map(TokenDocument.init)))
        }
        let input = try decode(TokenInput.self, exchange)
        let (request, minted) = try createTokenRequest(user: input.user, label: input.label ?? "",
                                                       expiresInDays: input.expiresInDays)
        let response = sendAsCaller(request, exchange)
        guard response.status == 200, case .createToken(let id, let user, let label, _, let expiresAt) = request else { return response }
        // The token's text is in this answer and nowhere else: not stored, not logged.
        return try json(CreatedTokenDocument(id: id, user: user, label: label, expiresAt: expiresAt, token: minted), status: 201)
    }

    func createTokenRequest(user: String?, label: String, expiresInDays: Int?) throws -> (ControlRequest, String) {
        guard let user else { throw HTTPError(400, "user is required") }
        if let problem = ControlValidation.userNameProblem(user) { throw HTTPError(400, problem) }
        if let problem = ControlValidation.textProblem(label, field: "label") { throw HTTPError(400, problem) }
        if let days = expiresInDays, !(1...3_650).contains(days) { throw HTTPError(400, "expiresInDays must be between 1 and 3650") }
        var random = SystemRandomNumberGenerator()
        let minted = APIToken.mint(using: &random)
        let expiresAt = expiresInDays.map { now() + Double($0) * 86_400 }
        return (.createToken(id: minted.id, user: user, label: label, secretHash: minted.secretHash, expiresAt: expiresAt), minted.text)
    }

    func apiRevokeToken(_ exchange: Exchange, id: String) throws -> Response {
        guard id.utf8.count == 16, id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw HTTPError(400, "token id must be 16 hex digits")
        }
        return sendAsCaller(.revokeToken(id: id), exchange)
    }

    // MARK: Login locks

    func apiLoginLocks(_ exchange: Exchange) throws -> Response {
        let time = now()
        let records = try state.snapshot(source: exchange.source).loginFailures.values.sorted { $0.key < $1.key }
        return try json(LoginLocksDocument(counters: records.map { record in
            var lockedUntil: Double?
            if case .locked(let until) = LoginThrottle.verdict(record, now: time) { lockedUntil = until }
            let (kind, name) = record.key.hasPrefix("user:") ? ("user", String(record.key.dropFirst(5)))
                : ("address", String(record.key.drop(while: { $0 != ":" }).dropFirst()))
            return LoginCounterDocument(kind: kind, name: name, failures: record.failures, lastFailureAt: record.lastFailureAt,
                                        lockedUntil: lockedUntil)
        }))
    }

    func apiLiftLoginLock(_ exchange: Exchange) throws -> Response {
        let input = try decode(UnlockInput.self, exchange)
        let request = ControlRequest.liftLoginLock(user: input.user, address: input.address)
        if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
        return sendAsCaller(request, exchange)
    }

    // MARK: Audit

    func auditFilter(_ exchange: Exchange) throws -> (AuditFilter, Int) {
        (AuditFilter(actor: try exchange.single("actor"), action: try exchange.single("action"), since: try exchange.time("since"),
                     until: try exchange.time("until")),
         try exchange.limit(default: 500, maximum: AuditRecord.recordsMax))
    }

    func apiAudit(_ exchange: Exchange) throws -> Response {
        let (filter, limit) = try auditFilter(exchange)
        let records = try exchange.source.audit(filter: filter, limit: limit)
        return try export(exchange, name: "chassis-audit", json: AuditDocument(records: records), csv: { AuditCSV.render(records) })
    }
}

/// The audit log as CSV (RFC 4180): a header line, then one record a line, fields quoted where
/// needed. A field that a spreadsheet would run as a formula is prefixed with a quote.
enum AuditCSV {
    static let columns = ["id", "time", "actor", "role", "address", "via", "action", "target", "old", "new"]

    static func render(_ records: [AuditRecord]) -> String {
        table(columns, records.map { record in
            [String(record.id), Format.isoTime(record.at), record.actor, record.role, record.address, record.via,
             record.action, record.target, record.old ?? "", record.new ?? ""]
        })
    }

    /// A header line and a line per row, CRLF-ended, every field made formula-safe (the logs' exports).
    static func table(_ columns: [String], _ rows: [[String]]) -> String {
        var out = columns.joined(separator: ",") + "\r\n"
        for row in rows { out += row.map(field).joined(separator: ",") + "\r\n" }
        return out
    }

    static func field(_ value: String) -> String {
        var text = value
        // Newlines by Character property: "\r\n" is one Character, equal to neither "\r" nor "\n".
        if let first = text.first, "=+-@\t".contains(first) || first.isNewline { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

struct UserDocument: Encodable {
    var name: String
    var role: String
    var slots: [Int]?
    var chassis: String?
    var createdAt: Double
    var updatedAt: Double
    var failedLogins: Int
    var lockedUntil: Double?
    var tokens: [TokenDocument]
}

struct UsersDocument: Encodable { var users: [UserDocument] }

struct TokenDocument: Encodable {
    var id: String
    var user: String
    var label: String
    var createdAt: Double
    var expiresAt: Double?

    init(_ record: TokenRecord) {
        id = record.id
        user = record.user
        label = record.label
        createdAt = record.createdAt
        expiresAt = record.expiresAt
    }
}

struct TokensDocument: Encodable { var tokens: [TokenDocument] }

struct CreatedTokenDocument: Encodable {
    var id: String
    var user: String
    var label: String
    var expiresAt: Double?
    /// Shown once.
    var token: String
}

struct LoginCounterDocument: Encodable {
    var kind: String
    var name: String
    var failures: Int
    var lastFailureAt: Double
    var lockedUntil: Double?
}

struct LoginLocksDocument: Encodable { var counters: [LoginCounterDocument] }

struct AuditDocument: Encodable { var records: [AuditRecord] }
