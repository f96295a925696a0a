import Foundation
import Model

/// Request bodies the API accepts (every one is declared in this file, which the http fuzz target
/// compiles on its own). Unknown fields are refused, so a misspelt field is an error
/// rather than silently ignored.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

func refuseUnknownKeys(_ decoder: Decoder, allowed: Set<String>) throws {
    let container = try decoder.container(keyedBy: AnyKey.self)
    let unknown = container.allKeys.map(\.stringValue).filter { !allowed.contains($0) }.sorted()
    if let first = unknown.first {
        throw InputError("unknown field \"\(first)\"")
    }
}

struct InputError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `{"scope": "global" | {"chassis": "ID"} | {"moduleType": "blade"} | {"slot": 3}, "metricKey": ...,
///   "limits": {"lowCritical", "lowWarning", "highWarning", "highCritical"}, "hysteresis", "minimumDurationSeconds", "id"}`
struct ThresholdInput: Decodable {
    var rule: ThresholdRule

    init(rule: ThresholdRule) { self.rule = rule }

    enum Keys: String, CodingKey { case id, scope, metricKey, limits, hysteresis, minimumDurationSeconds }
    enum ScopeKeys: String, CodingKey { case chassis, moduleType, slot }
    enum LimitKeys: String, CodingKey { case lowCritical, lowWarning, highWarning, highCritical }

    init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: ["id", "scope", "metricKey", "limits", "hysteresis", "minimumDurationSeconds"])
        let container = try decoder.container(keyedBy: Keys.self)
        let id = try container.decodeIfPresent(Int64.self, forKey: .id) ?? 0
        let scope: ThresholdScope
        if !container.contains(.scope) {
            scope = .global
        } else if let word = try? container.decode(String.self, forKey: .scope) {
            guard word == "global" else { throw InputError("scope must be \"global\" or an object with one of chassis, moduleType, slot") }
            scope = .global
        } else {
            let nested = try container.superDecoder(forKey: .scope)
            try refuseUnknownKeys(nested, allowed: ["chassis", "moduleType", "slot"])
            let scopeContainer = try nested.container(keyedBy: ScopeKeys.self)
            guard scopeContainer.allKeys.count == 1, let which = scopeContainer.allKeys.first else {
                throw InputError("scope must name exactly one of chassis, moduleType, slot")
            }
            switch which {
            case .chassis: scope = .chassis(try scopeContainer.decode(String.self, forKey: .chassis))
            case .moduleType: scope = .moduleType(try scopeContainer.decode(String.self, forKey: .moduleType))
            case .slot: scope = .slot(try scopeContainer.decode(Int.self, forKey: .slot))
            }
        }
        let metricKey = try container.decode(String.self, forKey: .metricKey)
        var limits = Limits()
        if container.contains(.limits) {
            let nested = try container.superDecoder(forKey: .limits)
            try refuseUnknownKeys(nested, allowed: ["lowCritical", "lowWarning", "highWarning", "highCritical"])
            let limitContainer = try nested.container(keyedBy: LimitKeys.self)
            limits.lowCritical = try limitContainer.decodeIfPresent(Double.self, forKey: .lowCritical)
            limits.lowWarning = try limitContainer.decodeIfPresent(Double.self, forKey: .lowWarning)
            limits.highWarning = try limitContainer.decodeIfPresent(Double.self, forKey: .highWarning)
            limits.highCritical = try limitContainer.decodeIfPresent(Double.self, forKey: .highCritical)
        }
        rule = ThresholdRule(id: id, scope: scope, metricKey: metricKey, limits: limits,
                             hysteresis: try container.decodeIfPresent(Double.self, forKey: .hysteresis) ?? 0,
                             minimumDurationSeconds: try container.decodeIfPresent(Double.self, forKey: .minimumDurationSeconds) ?? 0)
    }

    /// Checks what JSON types cannot: sizes, ranges and the order of the limits.
    func validate(limits webLimits: WebLimits) throws {
        try Validation.text(rule.metricKey, field: "metricKey", bytesMax: webLimits.metricKeyBytesMax, allowEmpty: false)
        switch rule.scope {
        case .global: break
        case .chassis(let id): try Validation.text(id, field: "scope.chassis", bytesMax: webLimits.nameBytesMax, allowEmpty: false)
        case .moduleType(let role): try Validation.text(role, field: "scope.moduleType", bytesMax: webLimits.nameBytesMax, allowEmpty: false)
        case .slot(let slot): guard slot >= 0 && slot <= 64 else { throw InputError("scope.slot must be between 0 and 64") }
        }
        guard rule.id >= 0 else { throw InputError("id must not be negative") }
        guard rule.hysteresis.isFinite, rule.hysteresis >= 0 else { throw InputError("hysteresis must be a number ≥ 0") }
        guard rule.minimumDurationSeconds.isFinite, rule.minimumDurationSeconds >= 0, rule.minimumDurationSeconds <= 86_400 else {
            throw InputError("minimumDurationSeconds must be between 0 and 86400")
        }
        let ordered = [rule.limits.lowCritical, rule.limits.lowWarning, rule.limits.highWarning, rule.limits.highCritical]
        for value in ordered.compactMap({ $0 }) where !value.isFinite {
            throw InputError("limits must be finite numbers")
        }
        let present = ordered.compactMap { $0 }
        guard present == present.sorted() else {
            throw InputError("limits must be ordered lowCritical ≤ lowWarning ≤ highWarning ≤ highCritical")
        }
    }
}

/// `{"name": "...", "moduleType": {"role", "function", "expectedModel"}}`; either may be absent.
struct SlotInput: Decodable {
    var name: String?
    var moduleType: ModuleType?
    /// `slot` or `slot+serial`.
    var affinity: SlotAffinity?
    /// The serial of the module in the slot, approved under `slot+serial`.
    var approve: String?

    init(name: String?, moduleType: ModuleType?) {
        self.name = name
        self.moduleType = moduleType
    }

    enum Keys: String, CodingKey { case name, moduleType, affinity, approve }
    enum TypeKeys: String, CodingKey { case role, function, expectedModel }

    init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: ["name", "moduleType", "affinity", "approve"])
        let container = try decoder.container(keyedBy: Keys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        if let text = try container.decodeIfPresent(String.self, forKey: .affinity) {
            guard let affinity = SlotAffinity(rawValue: text) else { throw InputError("affinity must be slot or slot+serial") }
            self.affinity = affinity
        }
        approve = try container.decodeIfPresent(String.self, forKey: .approve)
        if container.contains(.moduleType) {
            let nested = try container.superDecoder(forKey: .moduleType)
            try refuseUnknownKeys(nested, allowed: ["role", "function", "expectedModel"])
            let typeContainer = try nested.container(keyedBy: TypeKeys.self)
            moduleType = ModuleType(role: try typeContainer.decode(String.self, forKey: .role),
                                    function: try typeContainer.decodeIfPresent(String.self, forKey: .function) ?? "",
                                    expectedModel: try typeContainer.decodeIfPresent(String.self, forKey: .expectedModel) ?? "")
        }
    }

    func validate(limits: WebLimits) throws {
        guard name != nil || moduleType != nil || affinity != nil || approve != nil else {
            throw InputError("nothing to change: give name, moduleType, affinity or approve")
        }
        if let name { try Validation.text(name, field: "name", bytesMax: limits.nameBytesMax, allowEmpty: true) }
        if let moduleType {
            try Validation.text(moduleType.role, field: "moduleType.role", bytesMax: limits.nameBytesMax, allowEmpty: false)
            try Validation.text(moduleType.function, field: "moduleType.function", bytesMax: limits.nameBytesMax, allowEmpty: true)
            try Validation.text(moduleType.expectedModel, field: "moduleType.expectedModel", bytesMax: limits.nameBytesMax, allowEmpty: true)
        }
    }
}

/// `{"by": "name"}`, optional.
/// `{"by", "comment", "forSeconds"}`, each optional: an acknowledgement that says why, and that
/// holds for a while (at most a week) before the alert is new again.
struct AcknowledgeInput: Decodable {
    var by: String?
    var comment: String?
    var forSeconds: Double?

    static let forSecondsMax = 7 * 86_400.0

    enum Keys: String, CodingKey { case by, comment, forSeconds }

    init(by: String?, comment: String? = nil, forSeconds: Double? = nil) {
        self.by = by
        self.comment = comment
        self.forSeconds = forSeconds
    }

    init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: ["by", "comment", "forSeconds"])
        let container = try decoder.container(keyedBy: Keys.self)
        by = try container.decodeIfPresent(String.self, forKey: .by)
        comment = try container.decodeIfPresent(String.self, forKey: .comment)
        forSeconds = try container.decodeIfPresent(Double.self, forKey: .forSeconds)
    }

    /// The form's fields: `by`, `comment`, `for` (seconds; empty for no end).
    init(fields: [String: String]) throws {
        by = fields["by"]
        comment = fields["comment"]
        if let text = fields["for"], !text.isEmpty {
            guard let seconds = Double(text) else { throw InputError("for must be a number of seconds") }
            forSeconds = seconds
        }
    }

    func check() throws {
        if let forSeconds, !(forSeconds.isFinite && forSeconds >= 60 && forSeconds <= Self.forSecondsMax) {
            throw InputError("forSeconds must be from 60 to \(Int(Self.forSecondsMax)) (a week)")
        }
        if let comment { try Validation.text(comment, field: "comment", bytesMax: 512, allowEmpty: true) }
    }
}

struct LoginInput: Decodable {
    var user: String
    var password: String

    enum Keys: String, CodingKey { case user, password }

    init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: ["user", "password"])
        let container = try decoder.container(keyedBy: Keys.self)
        user = try container.decode(String.self, forKey: .user)
        password = try container.decode(String.self, forKey: .password)
    }
}

/// `{"slot": 3 (absent: the whole chassis), "startsAt" (absent: now), "endsAt" or "durationSeconds", "reason"}`.
struct MaintenanceInput: Decodable {
    var slot: Int?
    var startsAt: Double?
    var endsAt: Double?
    var durationSeconds: Double?
    var reason: String

    init(slot: Int?, startsAt: Double?, endsAt: Double?, durationSeconds: Double?, reason: String) {
        (self.slot, self.startsAt, self.endsAt, self.durationSeconds, self.reason) = (slot, startsAt, endsAt, durationSeconds, reason)
    }

    enum Keys: String, CodingKey { case slot, startsAt, endsAt, durationSeconds, reason }

    init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: ["slot", "startsAt", "endsAt", "durationSeconds", "reason"])
        let container = try decoder.container(keyedBy: Keys.self)
        slot = try container.decodeIfPresent(Int.self, forKey: .slot)
        startsAt = try container.decodeIfPresent(Double.self, forKey: .startsAt)
        endsAt = try container.decodeIfPresent(Double.self, forKey: .endsAt)
        durationSeconds = try container.decodeIfPresent(Double.self, forKey: .durationSeconds)
        reason = try container.decode(String.self, forKey: .reason)
        if endsAt != nil && durationSeconds != nil { throw InputError("give endsAt or durationSeconds, not both") }
    }
}

/// `{"to": "blade2"}`, or nothing for the most preferred other member.
struct HandOverInput: Decodable {
    var to: String?

    init(to: String?) { self.to = to }

    enum Keys: String, CodingKey { case to }

    init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: ["to"])
        to = try decoder.container(keyedBy: Keys.self).decodeIfPresent(String.self, forKey: .to)
    }
}

/// `{"name", "address", "slot", "port", "priority", "witness"}`.
struct MemberInput: Decodable {
    var name: String
    var address: String
    var slot: Int?
    var port: Int
    var priority: Int?
    var witness: Bool?

    enum Keys: String, CodingKey { case name, address, slot, port, priority, witness }

    init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: ["name", "address", "slot", "port", "priority", "witness"])
        let container = try decoder.container(keyedBy: Keys.self)
        name = try container.decode(String.self, forKey: .name)
        address = try container.decode(String.self, forKey: .address)
        slot = try container.decodeIfPresent(Int.self, forKey: .slot)
        port = try container.decode(Int.self, forKey: .port)
        priority = try container.decodeIfPresent(Int.self, forKey: .priority)
        witness = try container.decodeIfPresent(Bool.self, forKey: .witness)
    }
}

/// `{"cpu": 500, "sensors": 2000}`: milliseconds per group.
struct IntervalsInput: Decodable {
    var values: [String: Int]

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        guard !container.allKeys.isEmpty else { throw InputError("give at least one group's interval in milliseconds") }
        guard container.allKeys.count <= SamplingGroup.allCases.count else { throw InputError("too many groups") }
        var values: [String: Int] = [:]
        for key in container.allKeys { values[key.stringValue] = try container.decode(Int.self, forKey: key) }
        self.values = values
    }
}

/// `{"name", "site", "row", "rack", "shelf"}`, each optional.
struct ChassisInput: Decodable {
    var name: String?
    var site: String?
    var row: String?
    var rack: String?
    var shelf: String?

    enum Keys: String, CodingKey { case name, site, row, rack, shelf }

    init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: ["name", "site", "row", "rack", "shelf"])
        let container = try decoder.container(keyedBy: Keys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        site = try container.decodeIfPresent(String.self, forKey: .site)
        row = try container.decodeIfPresent(String.self, forKey: .row)
        rack = try container.decodeIfPresent(String.self, forKey: .rack)
        shelf = try container.decodeIfPresent(String.self, forKey: .shelf)
        if name == nil && site == nil && row == nil && rack == nil && shelf == nil {
            throw InputError("nothing to change: give name, site, row, rack or shelf")
        }
    }
}

/// `{"network": ["blade1", "blade2"], "disk": "all"}`.
struct ReplicationInput: Decodable {
    var values: [String: [String]?]

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        guard !container.allKeys.isEmpty else { throw InputError("give at least one group's members (a list) or \"all\"") }
        guard container.allKeys.count <= SamplingGroup.allCases.count else { throw InputError("too many groups") }
        var values: [String: [String]?] = [:]
        for key in container.allKeys {
            if let word = try? container.decode(String.self, forKey: key) {
                guard word == "all" else { throw InputError("\(key.stringValue.prefix(40)): a list of members, or \"all\"") }
                values[key.stringValue] = .some(nil)
            } else {
                values[key.stringValue] = .some(try container.decode([String].self, forKey: key))
            }
        }
        self.values = values
    }
}

struct UserInput: Decodable {
    var name: String?
    var role: String?
    var password: String?
    var slots: [Int]?
    var chassis: String?

    enum Keys: String, CodingKey { case name, role, password, slots, chassis }

    init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: ["name", "role", "password", "slots", "chassis"])
        let container = try decoder.container(keyedBy: Keys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        role = try container.decodeIfPresent(String.self, forKey: .role)
        password = try container.decodeIfPresent(String.self, forKey: .password)
        slots = try container.decodeIfPresent([Int].self, forKey: .slots)
        chassis = try container.decodeIfPresent(String.self, forKey: .chassis)
        if let slots, slots.count > 16 { throw InputError("at most 16 slots") }
    }
}

struct UserChangeInput: Decodable {
    var role: String?
    var password: String?
    var slots: [Int]?
    var chassis: String?

    enum Keys: String, CodingKey { case role, password, slots, chassis }

    init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: ["role", "password", "slots", "chassis"])
        let container = try decoder.container(keyedBy: Keys.self)
        role = try container.decodeIfPresent(String.self, forKey: .role)
        password = try container.decodeIfPresent(String.self, forKey: .password)
        slots = try container.decodeIfPresent([Int].self, forKey: .slots)
        chassis = try container.decodeIfPresent(String.self, forKey: .chassis)
        if let slots, slots.count > 16 { throw InputError("at most 16 slots") }
    }
}

struct TokenInput: Decodable {
    var user: String?
    var label: String?
    var expiresInDays: Int?

    enum Keys: String, CodingKey { case user, label, expiresInDays }

    init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: ["user", "label", "expiresInDays"])
        let container = try decoder.container(keyedBy: Keys.self)
        user = try container.decodeIfPresent(String.self, forKey: .user)
        label = try container.decodeIfPresent(String.self, forKey: .label)
        expiresInDays = try container.decodeIfPresent(Int.self, forKey: .expiresInDays)
    }
}

struct UnlockInput: Decodable {
    var user: String?
    var address: String?

    enum Keys: String, CodingKey { case user, address }

    init(from decoder: Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: ["user", "address"])
        let container = try decoder.container(keyedBy: Keys.self)
        user = try container.decodeIfPresent(String.self, forKey: .user)
        address = try container.decodeIfPresent(String.self, forKey: .address)
    }
}

enum Validation {
    /// Any text is allowed (it is escaped wherever it is shown) except control characters, and
    /// within a size.
    static func text(_ value: String, field: String, bytesMax: Int, allowEmpty: Bool) throws {
        if !allowEmpty && value.isEmpty { throw InputError("\(field) must not be empty") }
        if value.utf8.count > bytesMax { throw InputError("\(field) is longer than \(bytesMax) bytes") }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw InputError("\(field) contains control characters")
        }
    }

    /// Decodes a JSON body: UTF-8 first (so the error says so), then JSON, with readable errors.
    static func decodeJSON<T: Decodable>(_ type: T.Type, from body: [UInt8]) throws -> T {
        guard String(validating: body, as: UTF8.self) != nil else {
            throw InputError("the request body is not valid UTF-8")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch let error as InputError {
            throw error
        } catch let DecodingError.keyNotFound(key, context) {
            throw InputError("missing field \"\(path(context.codingPath + [key]))\"")
        } catch let DecodingError.typeMismatch(_, context) {
            throw InputError("wrong type for \"\(path(context.codingPath))\"")
        } catch let DecodingError.valueNotFound(_, context) {
            throw InputError("null for \"\(path(context.codingPath))\"")
        } catch DecodingError.dataCorrupted(let context) {
            if context.codingPath.isEmpty { throw InputError("the request body is not valid JSON") }
            throw InputError("invalid value for \"\(path(context.codingPath))\"")
        } catch {
            throw InputError("the request body is not valid JSON")
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map(\.stringValue).joined(separator: ".")
    }

    /// Parses `application/x-www-form-urlencoded` (the banner's no-script acknowledge form).
    static func formFields(_ body: [UInt8]) throws -> [String: String] {
        guard let text = String(validating: body, as: UTF8.self) else {
            throw InputError("the request body is not valid UTF-8")
        }
        var fields: [String: String] = [:]
        do {
            for (name, value) in try URLCoding.parseQuery(text) { fields[name] = value }
        } catch {
            throw InputError("\(error)")
        }
        return fields
    }
}
