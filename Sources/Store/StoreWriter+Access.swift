#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Model

/// Users, API tokens, ended sessions, the login throttle's counters and the audit log. Each write
/// joins the transaction of the command being applied; the readers are shared with `StoreReader`.
extension StoreWriter {
    public func users() throws -> [UserRecord] { try AccessRows.users(config) }

    public func user(named name: String) throws -> UserRecord? { try users().first { $0.name == name } }

    public func tokens() throws -> [TokenRecord] { try AccessRows.tokens(config) }

    public func insertUser(_ user: UserRecord) throws {
        try config.transaction {
            try config.statement("""
                INSERT INTO users (name, role, scope, password_hash, generation, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """).run([.text(user.name), .text(user.role.rawValue), .string(try AccessRows.scopeText(user.scope)),
                          .text(user.passwordHash), .integer(user.generation), .real(user.createdAt), .real(user.updatedAt)])
            try bumpConfigGeneration()
        }
    }

    /// Replaces a user's role, scope, hash and generation.
    public func replaceUser(_ user: UserRecord) throws {
        try config.transaction {
            try config.statement("""
                UPDATE users SET role = ?, scope = ?, password_hash = ?, generation = ?, updated_at = ? WHERE name = ?
                """).run([.text(user.role.rawValue), .string(try AccessRows.scopeText(user.scope)), .text(user.passwordHash),
                          .integer(user.generation), .real(user.updatedAt), .text(user.name)])
            try bumpConfigGeneration()
        }
    }

    /// Removes a user with its tokens and its throttle counter.
    public func deleteUser(name: String) throws {
        try config.transaction {
            try config.statement("DELETE FROM api_tokens WHERE user = ?").run([.text(name)])
            try config.statement("DELETE FROM login_failures WHERE key = ?").run([.text(LoginFailures.userKey(name))])
            try config.statement("DELETE FROM users WHERE name = ?").run([.text(name)])
            try bumpConfigGeneration()
        }
    }

    public func insertToken(_ token: TokenRecord) throws {
        try config.transaction {
            try config.statement("""
                INSERT INTO api_tokens (id, user, label, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                """).run([.text(token.id), .text(token.user), .text(token.label), .text(token.secretHash),
                          .real(token.createdAt), .double(token.expiresAt)])
            try bumpConfigGeneration()
        }
    }

    public func deleteToken(id: String) throws {
        try config.transaction {
            try config.statement("DELETE FROM api_tokens WHERE id = ?").run([.text(id)])
            try bumpConfigGeneration()
        }
    }

    /// Records a session ended by logout and forgets those that would have expired by `now`.
    public func revokeSession(id: String, until: Double, now: Double) throws {
        try config.transaction {
            try config.statement("DELETE FROM revoked_sessions WHERE until < ?").run([.real(now)])
            try config.statement("INSERT OR REPLACE INTO revoked_sessions (id, until) VALUES (?, ?)").run([.text(id), .real(until)])
            try bumpConfigGeneration()
        }
    }

    public func loginFailures(key: String) throws -> LoginFailures? {
        try AccessRows.loginFailures(config).first { $0.key == key }
    }

    /// Stores a counter (nil removes it), then keeps the table within its bounds: counters older
    /// than the throttle forgets are dropped, and the oldest beyond the maximum.
    public func setLoginFailures(key: String, _ record: LoginFailures?, now: Double) throws {
        try config.transaction {
            if let record {
                try config.statement("""
                    INSERT OR REPLACE INTO login_failures (key, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?)
                    """).run([.text(key), .integer(Int64(record.failures)), .real(record.lastFailureAt), .double(record.lockedUntil)])
            } else {
                try config.statement("DELETE FROM login_failures WHERE key = ?").run([.text(key)])
            }
            try config.statement("""
                DELETE FROM login_failures WHERE last_failure_at < ? AND (locked_until IS NULL OR locked_until < ?)
                """).run([.real(now - LoginThrottle.forgetAfterSeconds), .real(now)])
            try config.statement("""
                DELETE FROM login_failures WHERE key NOT IN
                    (SELECT key FROM login_failures ORDER BY last_failure_at DESC LIMIT \(LoginThrottle.recordsMax))
                """).run()
            try bumpConfigGeneration()
        }
    }

    /// Appends one audit record (its id is assigned here) and keeps the log within its bounds,
    /// counted from the record's own time so that every blade keeps the same entries.
    @discardableResult
    public func appendAudit(_ record: AuditRecord) throws -> Int64 {
        try config.transaction {
            try config.statement("""
                INSERT INTO audit (at, actor, role, address, via, action, target, old, new) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).run([.real(record.at), .text(record.actor), .text(record.role), .text(record.address), .text(record.via),
                          .text(record.action), .text(record.target), .string(record.old), .string(record.new)])
            let id = config.lastInsertRowID
            try config.statement("DELETE FROM audit WHERE at < ?").run([.real(record.at - AuditRecord.ageSecondsMax)])
            try config.statement("DELETE FROM audit WHERE id <= ?").run([.integer(id - Int64(AuditRecord.recordsMax))])
            try bumpConfigGeneration()
            return id
        }
    }

    public func auditRecords(limit: Int = AuditRecord.recordsMax) throws -> [AuditRecord] {
        try AccessRows.audit(config, filter: AuditFilter(), limit: limit)
    }

    private func bumpConfigGeneration() throws {
        try config.statement("UPDATE meta SET generation = generation + 1 WHERE id = 1").run()
    }
}

/// Which audit records to read (all conditions must hold).
public struct AuditFilter: Sendable, Equatable {
    public var actor: String?
    public var action: String?
    /// Records at or after this time.
    public var since: Double?
    public var until: Double?

    public init(actor: String? = nil, action: String? = nil, since: Double? = nil, until: Double? = nil) {
        self.actor = actor
        self.action = action
        self.since = since
        self.until = until
    }
}

/// Reading the access tables, for the engine's writer and the web app's readers alike.
enum AccessRows {
    static func scopeText(_ scope: AccessScope?) throws -> String? {
        guard let scope else { return nil }
        return String(decoding: try JSONEncoder().encode(scope), as: UTF8.self)
    }

    static func scope(_ text: String?) -> AccessScope? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(AccessScope.self, from: Data(text.utf8))
    }

    static func users(_ database: Database, schema: String = "main") throws -> [UserRecord] {
        let statement = try database.statement("""
            SELECT name, role, scope, password_hash, generation, created_at, updated_at FROM \(schema).users ORDER BY name
            """)
        var users: [UserRecord] = []
        while try statement.step() {
            // A row this version cannot read (an unknown role) is left out, never guessed.
            guard let role = Role(rawValue: statement.string(1)) else { continue }
            let scope = scope(statement.optionalString(2))
            if role == .customer && scope == nil { continue }
            users.append(UserRecord(name: statement.string(0), role: role, scope: scope, passwordHash: statement.string(3),
                                    generation: statement.int64(4), createdAt: statement.double(5),
                                    updatedAt: statement.double(6)))
        }
        return users
    }

    static func tokens(_ database: Database, schema: String = "main") throws -> [TokenRecord] {
        let statement = try database.statement("""
            SELECT id, user, label, secret_hash, created_at, expires_at FROM \(schema).api_tokens ORDER BY created_at, id
            """)
        var tokens: [TokenRecord] = []
        while try statement.step() {
            tokens.append(TokenRecord(id: statement.string(0), user: statement.string(1), label: statement.string(2),
                                      secretHash: statement.string(3), createdAt: statement.double(4),
                                      expiresAt: statement.optionalDouble(5)))
        }
        return tokens
    }

    static func revokedSessions(_ database: Database, schema: String = "main") throws -> [RevokedSession] {
        let statement = try database.statement("SELECT id, until FROM \(schema).revoked_sessions ORDER BY id")
        var sessions: [RevokedSession] = []
        while try statement.step() { sessions.append(RevokedSession(id: statement.string(0), until: statement.double(1))) }
        return sessions
    }

    static func loginFailures(_ database: Database, schema: String = "main") throws -> [LoginFailures] {
        let statement = try database.statement("""
            SELECT key, failures, last_failure_at, locked_until FROM \(schema).login_failures ORDER BY key
            """)
        var records: [LoginFailures] = []
        while try statement.step() {
            records.append(LoginFailures(key: statement.string(0), failures: statement.int(1),
                                         lastFailureAt: statement.double(2), lockedUntil: statement.optionalDouble(3)))
        }
        return records
    }

    static func snapshot(_ database: Database) throws -> AccessSnapshot {
        var access = AccessSnapshot()
        for user in try users(database) { access.users[user.name] = user }
        for token in try tokens(database) { access.tokens[token.id] = token }
        for session in try revokedSessions(database) { access.revokedSessions[session.id] = session.until }
        for record in try loginFailures(database) { access.loginFailures[record.key] = record }
        return access
    }

    /// Newest first.
    static func audit(_ database: Database, filter: AuditFilter, limit: Int) throws -> [AuditRecord] {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if let actor = filter.actor { conditions.append("actor = ?"); arguments.append(.text(actor)) }
        if let action = filter.action {
            conditions.append("(action = ? OR action LIKE ? ESCAPE '\\')")
            var escaped = ""
            for character in action {
                if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
                escaped.append(character)
            }
            arguments += [.text(action), .text(escaped + ".%")]
        }
        if let since = filter.since { conditions.append("at >= ?"); arguments.append(.real(since)) }
        if let until = filter.until { conditions.append("at <= ?"); arguments.append(.real(until)) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let statement = try database.statement("""
            SELECT id, at, actor, role, address, via, action, target, old, new FROM main.audit \(whereClause)
            ORDER BY id DESC LIMIT ?
            """)
        try statement.bind(arguments + [.integer(Int64(max(1, min(limit, AuditRecord.recordsMax))))])
        var records: [AuditRecord] = []
        while try statement.step() {
            records.append(AuditRecord(id: statement.int64(0), at: statement.double(1), actor: statement.string(2),
                                       role: statement.string(3), address: statement.string(4), via: statement.string(5),
                                       action: statement.string(6), target: statement.string(7),
                                       old: statement.optionalString(8), new: statement.optionalString(9)))
        }
        statement.reset()
        return records
    }
}
