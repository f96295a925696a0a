import Model

/// Checks a control request before anything is applied: a bad request changes nothing and gets
/// a message that says what is wrong.
public enum ControlValidation {
    /// A time a request may carry: Unix seconds from 1970 to 2200. Anything beyond is no time an
    /// operator means, and would overflow the conversions that show it.
    public static let timeRange: ClosedRange<Double> = 0 ... 7_258_118_400

    public static func isTime(_ value: Double) -> Bool { value.isFinite && timeRange.contains(value) }

    public static let nameBytesMax = 256
    public static let keyBytesMax = 256
    public static let slotIDRange = 1...16
    public static let intervalMsRange = 100...3_600_000
    public static let minimumDurationSecondsMax = 86_400.0

    public static func problem(in request: ControlRequest) -> String? {
        switch request {
        case .ping:
            return nil
        case .setThreshold(let rule):
            return problem(in: rule)
        case .removeThreshold(let id):
            return id > 0 ? nil : "threshold id must be positive"
        case .setChassisInfo(let name, let site, let row, let rack, let shelf):
            // The same bounds as the store's columns (a command the store refused would be
            // refused on every blade after it was committed).
            for (field, value, bytesMax) in [("name", name, nameBytesMax), ("site", site, nameBytesMax), ("row", row, shortTextBytesMax),
                                             ("rack", rack, shortTextBytesMax), ("shelf", shelf, shortTextBytesMax)] {
                if let value, let problem = textProblem(value, field: field, bytesMax: bytesMax) { return problem }
            }
            return nil
        case .setSlot(let slotID, let name, let moduleType):
            guard slotIDRange.contains(slotID) else { return "slot must be between 1 and 16" }
            if let name, let problem = textProblem(name, field: "name") { return problem }
            if let moduleType {
                for (field, value, bytesMax) in [("role", moduleType.role, shortTextBytesMax), ("function", moduleType.function, nameBytesMax),
                                                 ("expected model", moduleType.expectedModel, nameBytesMax)] {
                    if let problem = textProblem(value, field: field, bytesMax: bytesMax) { return problem }
                }
                if moduleType.role.isEmpty { return "role must not be empty" }
            }
            return nil
        case .acknowledgeAlert(let id, let by, let comment, let until):
            guard id > 0 else { return "alert id must be positive" }
            if let comment, let problem = textProblem(comment, field: "comment", bytesMax: 512) { return problem }
            if let until, !isTime(until) { return "until must be a time between the years 1970 and 2200" }
            return textProblem(by, field: "acknowledged by") ?? (by.isEmpty ? "say who acknowledges" : nil)
        case .setInterval(_, let intervalMs):
            return intervalMsRange.contains(intervalMs) ? nil
                : "interval must be between \(intervalMsRange.lowerBound) and \(intervalMsRange.upperBound) ms"
        case .addMember(let name, let address, let slot, let port, let priority, _):
            if let problem = memberNameProblem(name) { return problem }
            if IPv4.parse(address) == nil { return "member address must be an IPv4 address" }
            if let slot, !slotIDRange.contains(slot) { return "slot must be between 1 and 16" }
            if !(1...65535).contains(port) { return "port must be between 1 and 65535" }
            if let priority, !(-1000...1000).contains(priority) { return "priority must be between -1000 and 1000" }
            return nil
        case .removeMember(let name):
            return name.isEmpty || name.utf8.count > 64 ? "name the member to remove" : nil
        case .handOver(let target):
            return target.flatMap { textProblem($0, field: "member") }
        case .addUser(let name, let role, let scope, let passwordHash):
            return userNameProblem(name) ?? scopeProblem(role: role, scope: scope) ?? hashProblem(passwordHash)
        case .updateUser(let name, let role, let scope, let passwordHash):
            if let problem = userNameProblem(name) { return problem }
            if role == nil && passwordHash == nil { return "say what changes: role or password" }
            if let role, let problem = scopeProblem(role: role, scope: scope) { return problem }
            if role == nil && scope != nil { return "a scope is given with the role customer" }
            return passwordHash.flatMap(hashProblem)
        case .removeUser(let name):
            return userNameProblem(name)
        case .createToken(let id, let user, let label, let secretHash, let expiresAt):
            if !isHex(id, count: 16) { return "token id must be 16 hex digits" }
            if !isHex(secretHash, count: 64) { return "token secret hash must be 64 hex digits" }
            if let expiresAt, !isTime(expiresAt) { return "token expiry must be a time between the years 1970 and 2200" }
            return userNameProblem(user) ?? textProblem(label, field: "label")
        case .revokeToken(let id):
            return isHex(id, count: 16) ? nil : "token id must be 16 hex digits"
        case .endSession(let id, let user, let until):
            if !isHex(id, count: 32) { return "session id must be 32 hex digits" }
            if !isTime(until) { return "session end must be a time between the years 1970 and 2200" }
            return userNameProblem(user)
        case .recordLogin(let user, let address, _):
            // The name is what someone typed: any text, bounded, without control characters.
            if user.isEmpty || user.utf8.count > userNameBytesMax { return "user must be 1 to \(userNameBytesMax) bytes" }
            return textProblem(user, field: "user") ?? textProblem(address, field: "address")
        case .liftLoginLock(let user, let address):
            if user == nil && address == nil { return "name a user or an address to unlock" }
            if let user, user.isEmpty || user.utf8.count > userNameBytesMax { return "user must be 1 to \(userNameBytesMax) bytes" }
            return user.flatMap { textProblem($0, field: "user") } ?? address.flatMap { textProblem($0, field: "address") }
        case .setNotifications(let targets):
            return targets.problem()
        case .testNotifications:
            return nil
        case .addMaintenance(let slotID, let startsAt, let endsAt, let reason, let by):
            if let slotID, !slotIDRange.contains(slotID) { return "slot must be between 1 and 16" }
            guard isTime(startsAt), isTime(endsAt) else { return "start and end must be times between the years 1970 and 2200" }
            if endsAt <= startsAt { return "the end must be after the start" }
            if endsAt - startsAt > MaintenanceWindow.secondsMax { return "a window is at most a week" }
            if reason.isEmpty { return "say why (reason)" }
            return textProblem(reason, field: "reason", bytesMax: 256) ?? textProblem(by, field: "by")
        case .removeMaintenance(let id):
            return id > 0 ? nil : "maintenance id must be positive"
        case .setSlotAffinity(let slotID, _):
            return slotIDRange.contains(slotID) ? nil : "slot must be between 1 and 16"
        case .setReplication(_, let members):
            guard let members else { return nil }
            if members.count > 64 { return "at most 64 members" }
            return members.lazy.compactMap(memberNameProblem).first
        case .approveModule(let slotID, let serial):
            guard slotIDRange.contains(slotID) else { return "slot must be between 1 and 16" }
            if serial.isEmpty { return "name the serial number to approve" }
            return textProblem(serial, field: "serial")
        case .power(let slotID, let action, let handOver):
            guard slotIDRange.contains(slotID) else { return "slot must be between 1 and 16" }
            if handOver && !action.interruptsBlade { return "a hand-over goes only with an action that stops the blade" }
            return nil
        }
    }

    public static func problem(in rule: ThresholdRule) -> String? {
        if rule.metricKey.isEmpty || rule.metricKey.utf8.count > keyBytesMax {
            return "metric key must be 1 to \(keyBytesMax) bytes"
        }
        if rule.metricKey.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "metric key contains a control character"
        }
        if case .slot(let slot) = rule.scope, !slotIDRange.contains(slot) { return "slot must be between 1 and 16" }
        if case .chassis(let id) = rule.scope, let problem = textProblem(id, field: "chassis") { return problem }
        if case .moduleType(let role) = rule.scope, let problem = textProblem(role, field: "module type") { return problem }
        let limits = [rule.limits.lowCritical, rule.limits.lowWarning, rule.limits.highWarning, rule.limits.highCritical]
        if limits.contains(where: { $0.map { !$0.isFinite } ?? false }) { return "limits must be finite numbers" }
        let present = limits.compactMap { $0 }
        if present.isEmpty { return "give at least one limit" }
        if present != present.sorted() {
            return "limits must be ordered: low critical ≤ low warning ≤ high warning ≤ high critical"
        }
        if !rule.hysteresis.isFinite || rule.hysteresis < 0 { return "hysteresis must be zero or more" }
        if !rule.minimumDurationSeconds.isFinite || rule.minimumDurationSeconds < 0
            || rule.minimumDurationSeconds > minimumDurationSecondsMax {
            return "minimum duration must be between 0 and \(Int(minimumDurationSecondsMax)) seconds"
        }
        return nil
    }

    public static let userNameBytesMax = 64

    /// User names: 1 to 64 letters, digits, '-', '_', '.' or '@', starting with a letter or digit.
    public static func userNameProblem(_ name: String) -> String? {
        let scalars = name.unicodeScalars
        guard !name.isEmpty, name.utf8.count <= userNameBytesMax,
              let first = scalars.first, first.isASCII, first.properties.isAlphabetic || ("0"..."9").contains(first),
              scalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.@".unicodeScalars.contains($0)) })
        else {
            return "user name must be 1 to \(userNameBytesMax) letters, digits, '-', '_', '.' or '@', starting with a letter or digit"
        }
        return nil
    }

    /// Customers need a scope of one or more slots; other roles take none.
    public static func scopeProblem(role: Role, scope: AccessScope?) -> String? {
        guard role == .customer else { return scope == nil ? nil : "only customers have a scope of slots" }
        guard let scope, !scope.slots.isEmpty else { return "a customer needs the slots it may see (--slots 2,3)" }
        if let problem = scope.slots.first(where: { !slotIDRange.contains($0) }) { return "slot \(problem) is not between 1 and 16" }
        if let chassis = scope.chassisID { return textProblem(chassis, field: "chassis") ?? (chassis.isEmpty ? "chassis must not be empty" : nil) }
        return nil
    }

    /// A password hash in PHC form, as the web app and chassisctl make it; never a password.
    public static func hashProblem(_ hash: String) -> String? {
        guard hash.hasPrefix("$scrypt$"), hash.utf8.count <= 256,
              hash.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            return "the password must arrive hashed ($scrypt$...)"
        }
        return nil
    }

    static func isHex(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// Names may hold any printable text (it is escaped when shown) but no control characters.
    /// Rows, racks, shelves and module roles (the store's columns hold 64).
    public static let shortTextBytesMax = 64

    /// A member's name: 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
    public static func memberNameProblem(_ name: String) -> String? {
        if name.isEmpty || name.utf8.count > 64
            || !name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }) {
            return "member name must be 1 to 64 letters, digits, '-', '_' or '.'"
        }
        return nil
    }

    public static func textProblem(_ value: String, field: String, bytesMax: Int = nameBytesMax) -> String? {
        if value.utf8.count > bytesMax { return "\(field) is longer than \(bytesMax) bytes" }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "\(field) contains a control character"
        }
        return nil
    }
}
