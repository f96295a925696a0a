import Control
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Model
import Store

/// Users, tokens, sessions and the login throttle as commands of the replicated log, and the
/// audit record every change leaves: who, from where, when, what, the values before and after.
extension BladeEngine {
    /// Applies an operator's change and appends its audit record (in the same transaction, so the
    /// record exists exactly when the change does). Refused changes leave no record, except
    /// logins, which are recorded whether they succeed or fail.
    func applyAudited(_ request: ControlRequest, actor: Actor, at time: Double) throws -> ControlResponse {
        let subject = Self.auditSubject(request)
        let before = try subject.map { try auditValues(of: $0) } ?? nil
        let response = try applyControl(request, actor: actor, at: time)
        guard response.ok, let subject else { return response }
        var after = try auditValues(of: subject)
        if case .updateUser(_, _, _, let hash) = request, hash != nil { after?["password"] = "changed" }
        if case .recordLogin(_, _, let success) = request { after = ["result": success ? "succeeded" : "failed"] }
        try store.appendAudit(AuditRecord(id: 0, at: time, actor: actor.user, role: actor.role?.rawValue ?? "",
                                          address: actor.address, via: actor.via, action: request.auditAction,
                                          target: subject.description, old: Self.json(before), new: Self.json(after)))
        return response
    }

    func auditRecord(_ request: ControlRequest, actor: Actor, target: String, new: [String: String]?, now: Double) -> AuditRecord {
        AuditRecord(id: 0, at: now, actor: actor.user, role: actor.role?.rawValue ?? "", address: actor.address,
                    via: actor.via, action: request.auditAction, target: target, old: nil, new: Self.json(new))
    }

    /// Proposes an audit record of a change that took effect outside the log.
    func recordEvent(_ request: ControlRequest, actor: Actor, target: String, new: [String: String]?, now: Double) {
        let record = auditRecord(request, actor: actor, target: target, new: new, now: now)
        coordinator.propose(.auditEvent(record)) { [weak self] response in
            if !response.ok {
                self?.logger.warning("audit record not committed", metadata: ["action": "\(record.action)",
                                                                             "error": "\(response.error ?? "")"])
            }
        }
    }

    /// The first administrator of a new installation: `chassisctl first-admin` wrote its name
    /// and password hash to `state_dir/first-admin` ("NAME HASH"). The active manager adds it to a
    /// chassis that has no user yet, as an audited change of the installation, and removes the
    /// file once the chassis has users (a standby's file goes when it becomes active).
    func createFirstAdministrator(now: Double) {
        let path = config.paths.firstAdministrator
        guard coordinator.isActive, FileManager.default.fileExists(atPath: path) else { return }
        func remove(_ why: String) {
            do {
                try FileManager.default.removeItem(atPath: path)
                logger.notice("first administrator file removed", metadata: ["reason": "\(why)"])
            } catch {
                logger.warning("cannot remove the first administrator file", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
        guard let users = try? store.users() else { return }
        guard users.isEmpty else { return remove("the chassis has users") }
        guard let data = FileManager.default.contents(atPath: path), data.count <= 4_096 else {
            return remove("unreadable or too large")
        }
        let fields = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2 else { return remove("not NAME HASH") }
        let request = ControlRequest.addUser(name: String(fields[0]), role: .admin, scope: nil, passwordHash: String(fields[1]))
        if let problem = ControlValidation.problem(in: request) { return remove(problem) }
        let actor = Actor(user: "installation", role: nil, address: "console", via: "first-admin file")
        coordinator.propose(.audited(request, actor: actor, at: now)) { [weak self] response in
            guard let self else { return }
            if response.ok {
                self.logger.notice("first administrator added", metadata: ["user": "\(fields[0])"])
                remove("added")
            } else {
                self.logger.warning("first administrator not added", metadata: ["error": "\(response.error ?? "")"])
            }
        }
    }

    func applyAccess(_ request: ControlRequest, at time: Double) throws -> ControlResponse {
        switch request {
        case .addUser(let name, let role, let scope, let hash):
            guard try store.user(named: name) == nil else { return .failure("user \(name) exists", code: 409) }
            guard try store.users().count < UserRecord.countMax else {
                return .failure("the chassis holds at most \(UserRecord.countMax) users: remove one first", code: 409)
            }
            try store.insertUser(UserRecord(name: name, role: role, scope: scope, passwordHash: hash, generation: 1,
                                            createdAt: time, updatedAt: time))
            logger.notice("user added", metadata: ["user": "\(name)", "role": "\(role.rawValue)"])
            return ControlResponse(ok: true)
        case .updateUser(let name, let role, let scope, let hash):
            guard var user = try store.user(named: name) else { return .failure("no user \(name)", code: 404) }
            if let role {
                if user.role == .admin && role != .admin, try lastAdmin(name) {
                    return .failure("\(name) is the last admin: make another admin first", code: 409)
                }
                user.role = role
                user.scope = scope
            }
            if let hash { user.passwordHash = hash }
            user.generation += 1
            user.updatedAt = time
            try store.replaceUser(user)
            logger.notice("user changed", metadata: ["user": "\(name)", "role": "\(user.role.rawValue)",
                                                     "password": "\(hash == nil ? "kept" : "changed")"])
            return ControlResponse(ok: true)
        case .removeUser(let name):
            guard let user = try store.user(named: name) else { return .failure("no user \(name)", code: 404) }
            if user.role == .admin, try lastAdmin(name) {
                return .failure("\(name) is the last admin: make another admin first", code: 409)
            }
            try store.deleteUser(name: name)
            logger.notice("user removed", metadata: ["user": "\(name)"])
            return ControlResponse(ok: true)
        case .createToken(let id, let user, let label, let hash, let expiresAt):
            guard try store.user(named: user) != nil else { return .failure("no user \(user)", code: 404) }
            let tokens = try store.tokens()
            guard !tokens.contains(where: { $0.id == id }) else { return .failure("token \(id) exists", code: 409) }
            guard tokens.count < TokenRecord.countMax else {
                return .failure("the chassis holds at most \(TokenRecord.countMax) API tokens: revoke one first", code: 409)
            }
            try store.insertToken(TokenRecord(id: id, user: user, label: label, secretHash: hash, createdAt: time,
                                              expiresAt: expiresAt))
            return ControlResponse(ok: true)
        case .revokeToken(let id):
            guard try store.tokens().contains(where: { $0.id == id }) else { return .failure("no token \(id)", code: 404) }
            try store.deleteToken(id: id)
            return ControlResponse(ok: true)
        case .endSession(let id, _, let until):
            try store.revokeSession(id: id, until: until, now: time)
            return ControlResponse(ok: true)
        case .recordLogin(let user, let address, let success):
            let userKey = LoginFailures.userKey(user)
            let addressKey = LoginFailures.addressKey(address)
            if success {
                try store.setLoginFailures(key: userKey, nil, now: time)
                try store.setLoginFailures(key: addressKey, nil, now: time)
            } else {
                // Only names of existing users get a counter of their own; a scan of made-up
                // names is counted against its address.
                if try store.user(named: user) != nil {
                    try store.setLoginFailures(key: userKey, LoginThrottle.afterFailure(try store.loginFailures(key: userKey),
                                                                                        key: userKey, now: time), now: time)
                }
                try store.setLoginFailures(key: addressKey, LoginThrottle.afterFailure(try store.loginFailures(key: addressKey),
                                                                                       key: addressKey, now: time), now: time)
            }
            return ControlResponse(ok: true)
        case .liftLoginLock(let user, let address):
            var found = false
            for key in [user.map(LoginFailures.userKey), address.map(LoginFailures.addressKey)].compactMap({ $0 }) {
                if try store.loginFailures(key: key) != nil { found = true }
                try store.setLoginFailures(key: key, nil, now: time)
            }
            return found ? ControlResponse(ok: true) : .failure("nothing to unlock", code: 404)
        default:
            return .failure("not an access command", code: 400)
        }
    }

    private func lastAdmin(_ name: String) throws -> Bool {
        try !store.users().contains { $0.role == .admin && $0.name != name }
    }

    // MARK: Audit values

    /// What a change is about, so that its values can be read before and after it.
    enum AuditSubject: CustomStringConvertible {
        case threshold(scope: ThresholdScope, key: String)
        case thresholdID(Int64)
        case chassis
        case slot(Int)
        case alert(Int64)
        case interval(SamplingGroup)
        case user(String)
        case token(String)
        case session(String)
        case login(user: String, address: String)
        case throttle(user: String?, address: String?)
        case notifications
        case maintenance(Int64?)
        case replication(SamplingGroup)
        case power(Int)

        var description: String {
            switch self {
            case .threshold(let scope, let key): return "threshold \(Self.scopeText(scope)) \(key)"
            case .thresholdID(let id): return "threshold \(id)"
            case .chassis: return "chassis"
            case .slot(let slot): return "slot \(slot)"
            case .alert(let id): return "alert \(id)"
            case .interval(let group): return "interval \(group.rawValue)"
            case .user(let name): return "user \(name)"
            case .token(let id): return "token \(id)"
            case .session(let id): return "session \(id.prefix(8))"
            case .login(let user, _): return "user \(user)"
            case .throttle(let user, let address):
                return [user.map { "user \($0)" }, address.map { "address \($0)" }].compactMap { $0 }.joined(separator: ", ")
            case .notifications: return "notifications"
            case .maintenance(let id): return id.map { "maintenance \($0)" } ?? "maintenance"
            case .replication(let group): return "replication \(group.rawValue)"
            case .power(let slot): return "slot \(slot) power"
            }
        }

        static func scopeText(_ scope: ThresholdScope) -> String {
            switch scope {
            case .global: return "global"
            case .chassis(let id): return "chassis \(id)"
            case .moduleType(let role): return "type \(role)"
            case .slot(let slot): return "slot \(slot)"
            }
        }
    }

    static func auditSubject(_ request: ControlRequest) -> AuditSubject? {
        switch request {
        case .ping, .handOver, .addMember, .removeMember, .testNotifications: return nil
        case .setNotifications: return .notifications
        case .addMaintenance: return .maintenance(nil)
        case .setSlotAffinity(let slot, _), .approveModule(let slot, _): return .slot(slot)
        case .setReplication(let group, _): return .replication(group)
        case .removeMaintenance(let id): return .maintenance(id)
        case .power(let slot, _, _): return .power(slot)
        case .setThreshold(let rule): return .threshold(scope: rule.scope, key: rule.metricKey)
        case .removeThreshold(let id): return .thresholdID(id)
        case .setChassisInfo: return .chassis
        case .setSlot(let slot, _, _): return .slot(slot)
        case .acknowledgeAlert(let id, _, _, _): return .alert(id)
        case .setInterval(let group, _): return .interval(group)
        case .addUser(let name, _, _, _), .updateUser(let name, _, _, _), .removeUser(let name): return .user(name)
        case .createToken(let id, _, _, _, _), .revokeToken(let id): return .token(id)
        case .endSession(let id, _, _): return .session(id)
        case .recordLogin(let user, let address, _): return .login(user: user, address: address)
        case .liftLoginLock(let user, let address): return .throttle(user: user, address: address)
        }
    }

    /// The subject's values as the audit log shows them: never a password hash or a token's secret.
    func auditValues(of subject: AuditSubject) throws -> [String: String]? {
        func number(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
        func rule(_ rule: ThresholdRule) -> [String: String] {
            ["id": String(rule.id), "scope": AuditSubject.scopeText(rule.scope), "metric": rule.metricKey,
             "lowCritical": number(rule.limits.lowCritical), "lowWarning": number(rule.limits.lowWarning),
             "highWarning": number(rule.limits.highWarning), "highCritical": number(rule.limits.highCritical),
             "hysteresis": number(rule.hysteresis), "minimumDurationSeconds": number(rule.minimumDurationSeconds)]
        }
        switch subject {
        case .threshold(let scope, let key):
            return try store.loadThresholds().first { $0.scope == scope && $0.metricKey == key }.map(rule)
        case .thresholdID(let id):
            return try store.loadThresholds().first { $0.id == id }.map(rule)
        case .chassis:
            return try store.exportChassis().map { ["name": $0.name, "site": $0.site, "row": $0.row, "rack": $0.rack, "shelf": $0.shelf] }
        case .slot(let slotID):
            return try store.exportSlot(slotID).map {
                ["name": $0.name, "role": $0.moduleType.role, "function": $0.moduleType.function,
                 "expectedModel": $0.moduleType.expectedModel, "affinity": ($0.affinity ?? .slot).rawValue,
                 "approvedSerial": $0.approvedSerial ?? ""]
            }
        case .alert(let id):
            return try store.alert(id: id).map {
                ["acknowledgedBy": $0.acknowledgedBy ?? "", "acknowledgedAt": number($0.acknowledgedAt),
                 "comment": $0.acknowledgedComment ?? "", "until": number($0.acknowledgedUntil)]
            }
        case .interval(let group):
            return ["intervalMs": String(group.interval(setting: try store.setting(group.intervalSettingKey), fileMs: intervalsMs[group]).ms)]
        case .user(let name):
            return try store.user(named: name).map { ["role": $0.role.rawValue, "scope": $0.scope?.text ?? ""] }
        case .token(let id):
            return try store.tokens().first { $0.id == id }.map {
                ["user": $0.user, "label": $0.label, "expiresAt": number($0.expiresAt)]
            }
        case .session(let id):
            return ["session": String(id.prefix(8))]
        case .login:
            return nil
        case .throttle(let user, let address):
            var values: [String: String] = [:]
            for (name, key) in [("user", user.map(LoginFailures.userKey)), ("address", address.map(LoginFailures.addressKey))] {
                guard let key, let record = try store.loginFailures(key: key) else { continue }
                values[name + "Failures"] = String(record.failures)
                values[name + "LockedUntil"] = number(record.lockedUntil)
            }
            return values
        case .power(let slot):
            let power = SlotPower.derive(from: try store.powerActions().filter { $0.slotID == slot })
            return ["powered": power.powered ? "on" : "off", "identify": power.identify ? "on" : "off",
                    "pending": power.pending.map(\.action.rawValue).joined(separator: " ")]
        case .replication(let group):
            return ["members": try store.setting(ReplicationPolicy.settingPrefix + group.rawValue) ?? "all"]
        case .maintenance(let id):
            guard let id else { return nil }
            return try store.maintenanceWindows().first { $0.window.id == id }.map {
                ["slot": $0.window.slotID.map(String.init) ?? "chassis", "startsAt": number($0.window.startsAt),
                 "endsAt": number($0.window.endsAt), "reason": $0.window.reason]
            }
        case .notifications:
            // What each target addresses; never a password, sealed or not.
            let targets = notifications?.targets ?? NotificationTargets()
            return ["alertmanager": targets.alertmanager.map(\.url).joined(separator: ", "),
                    "syslog": targets.syslog.map { "\($0.transport.rawValue)://\($0.host):\($0.port)" }.joined(separator: ", "),
                    "email": targets.email.map { "\($0.server):\($0.port) to \($0.to.joined(separator: " "))" }.joined(separator: ", "),
                    "hooks": targets.hooks.map(\.command).joined(separator: ", ")]
        }
    }

    static func json(_ values: [String: String]?) -> String? {
        guard let values else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(values)).map { String(decoding: $0, as: UTF8.self) }
    }
}
