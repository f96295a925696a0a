import Foundation
import Model

/// Request bodies the API accepts. Unknown fields are refused, so a misspelt field is an error
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
