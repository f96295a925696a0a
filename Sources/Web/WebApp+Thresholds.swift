import Access
import Control
import Foundation
import Model

/// The threshold rules: listed for the staff (`GET /api/v1/thresholds`, the Thresholds page) and
/// changed by operators (the page's forms, which work without scripts, or the JSON API).
extension WebApp {
    func apiThresholdList(_ exchange: Exchange) throws -> Response {
        let rules = try exchange.source.thresholds()
        return try json(ThresholdsDocument(thresholds: rules.map(ThresholdDocument.init)))
    }

    func thresholdsPage(_ exchange: Exchange) throws -> Response {
        let (notice, problem) = try formOutcome(exchange) { try thresholdsFormAction($0, exchange) }
        let current = try current(exchange)
        var view = basePage(title: "Thresholds — Chassis Manager", page: "thresholds", snapshot: current.snapshot,
                            stale: current.stale, local: exchange.local, request: exchange.request, viewer: exchange.principal)
        let rules = try exchange.source.thresholds()
        let canEdit = exchange.principal.map { Route.thresholdsPage.rule(method: "POST").permits($0.role) } ?? false
        var keys = Set<String>()
        for slot in current.snapshot.slots { for metric in slot.metrics where metric.descriptor.unit != "text" { keys.insert(metric.descriptor.key) } }
        for metric in current.snapshot.chassisMetrics where metric.descriptor.unit != "text" { keys.insert(metric.descriptor.key) }
        view.thresholds = ThresholdsPageView(
            notice: notice, problem: problem, canEdit: canEdit, hasRules: !rules.isEmpty,
            rules: rules.map { rule in
                func limit(_ value: Double?) -> String { value.map { Format.limit($0, unit: "") } ?? "—" }
                return ThresholdRowView(id: String(rule.id), scope: Self.scopeText(rule.scope), metricKey: rule.metricKey,
                                        lowCritical: limit(rule.limits.lowCritical), lowWarning: limit(rule.limits.lowWarning),
                                        highWarning: limit(rule.limits.highWarning), highCritical: limit(rule.limits.highCritical),
                                        hysteresis: Format.limit(rule.hysteresis, unit: ""),
                                        minimumDuration: Format.limit(rule.minimumDurationSeconds, unit: "") + " s")
            },
            metricKeys: keys.sorted())
        var response = try page(view, template: "thresholds", source: exchange.source)
        if problem != nil { response.status = 400 }
        return response
    }

    /// One form's change; returns the notice to show.
    func thresholdsFormAction(_ fields: [String: String], _ exchange: Exchange) throws -> String {
        func field(_ name: String) -> String? { fields[name].flatMap { $0[...].trimmingSpaces().isEmpty ? nil : $0[...].trimmingSpaces() } }
        func number(_ name: String) throws -> Double? {
            guard let text = field(name) else { return nil }
            guard let value = Double(text), value.isFinite else { throw HTTPError(400, "\(name) must be a number, not \"\(text.prefix(40))\"") }
            return value
        }
        switch fields["action"] ?? "" {
        case "set":
            let scope: ThresholdScope
            switch field("scopeKind") ?? "global" {
            case "global": scope = .global
            case "chassis": scope = .chassis(field("scopeValue") ?? "")
            case "moduleType": scope = .moduleType(field("scopeValue") ?? "")
            case "slot":
                guard let text = field("scopeValue"), let slot = Int(text) else { throw HTTPError(400, "the slot must be a number") }
                scope = .slot(slot)
            default: throw HTTPError(400, "scope must be global, chassis, moduleType or slot")
            }
            let input = ThresholdInput(rule: ThresholdRule(
                scope: scope, metricKey: field("metricKey") ?? "",
                limits: Limits(lowCritical: try number("lowCritical"), lowWarning: try number("lowWarning"),
                               highWarning: try number("highWarning"), highCritical: try number("highCritical")),
                hysteresis: try number("hysteresis") ?? 0, minimumDurationSeconds: try number("minimumDurationSeconds") ?? 0))
            do { try input.validate(limits: limits) } catch { throw HTTPError(400, "\(error)") }
            if let problem = ControlValidation.problem(in: input.rule) { throw HTTPError(400, problem) }
            try requireAccepted(sendAsCaller(.setThreshold(input.rule), exchange))
            return "Threshold for \(input.rule.metricKey) (\(Self.scopeText(scope))) saved."
        case "remove":
            guard let text = field("id"), let id = Int64(text), id > 0 else { throw HTTPError(400, "name the rule") }
            try requireAccepted(sendAsCaller(.removeThreshold(id: id), exchange))
            return "Threshold \(id) removed."
        default:
            throw HTTPError(400, "unknown action")
        }
    }

    static func scopeText(_ scope: ThresholdScope) -> String {
        switch scope {
        case .global: return "every slot"
        case .chassis(let id): return "chassis \(id)"
        case .moduleType(let role): return "module type \(role)"
        case .slot(let slot): return "slot \(slot)"
        }
    }
}

/// A rule as the API takes it (`scope` is "global" or one of chassis, moduleType, slot).
struct ThresholdDocument: Encodable {
    var id: Int64
    var scope: Scope
    var metricKey: String
    var limits: Limits
    var hysteresis: Double
    var minimumDurationSeconds: Double

    enum Scope: Encodable {
        case global
        case chassis(String)
        case moduleType(String)
        case slot(Int)

        func encode(to encoder: Encoder) throws {
            switch self {
            case .global:
                var container = encoder.singleValueContainer()
                try container.encode("global")
            case .chassis(let id): try ["chassis": id].encode(to: encoder)
            case .moduleType(let role): try ["moduleType": role].encode(to: encoder)
            case .slot(let slot): try ["slot": slot].encode(to: encoder)
            }
        }
    }

    init(_ rule: ThresholdRule) {
        id = rule.id
        switch rule.scope {
        case .global: scope = .global
        case .chassis(let value): scope = .chassis(value)
        case .moduleType(let value): scope = .moduleType(value)
        case .slot(let value): scope = .slot(value)
        }
        metricKey = rule.metricKey
        limits = rule.limits
        hysteresis = rule.hysteresis
        minimumDurationSeconds = rule.minimumDurationSeconds
    }
}

struct ThresholdsDocument: Encodable { var thresholds: [ThresholdDocument] }

struct ThresholdsPageView {
    var notice: String?
    var problem: String?
    var canEdit: Bool
    var hasRules: Bool
    var rules: [ThresholdRowView]
    var metricKeys: [String]
}

struct ThresholdRowView {
    var id: String
    var scope: String
    var metricKey: String
    var lowCritical: String
    var lowWarning: String
    var highWarning: String
    var highCritical: String
    var hysteresis: String
    var minimumDuration: String
}
