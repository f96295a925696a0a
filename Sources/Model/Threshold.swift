/// Where a threshold rule applies; narrower scopes win over wider ones.
public enum ThresholdScope: Sendable, Codable, Equatable, Hashable {
    case global
    case chassis(String)
    /// Module type by its role (`blade`, `switch` ...).
    case moduleType(String)
    case slot(Int)

    /// Higher is narrower: slot beats module type beats chassis beats global.
    public var specificity: Int {
        switch self {
        case .global: return 0
        case .chassis: return 1
        case .moduleType: return 2
        case .slot: return 3
        }
    }
}

/// A user-defined threshold for one metric key (or a key prefix ending in `*`).
extension ThresholdRule {
    /// A chassis holds at most this many rules (the replicated configuration has to fit a snapshot).
    public static let countMax = 1_000
}

public struct ThresholdRule: Sendable, Codable, Equatable {
    public var id: Int64
    public var scope: ThresholdScope
    /// Exact metric key, or a prefix followed by `*` (e.g. `hwmon.*` is every sensor).
    public var metricKey: String
    public var limits: Limits
    /// A raised condition clears only once the value is back by this much past the limit.
    public var hysteresis: Double
    /// A condition must hold this long before an alert is raised.
    public var minimumDurationSeconds: Double

    public init(id: Int64 = 0, scope: ThresholdScope, metricKey: String, limits: Limits,
                hysteresis: Double = 0, minimumDurationSeconds: Double = 0) {
        self.id = id
        self.scope = scope
        self.metricKey = metricKey
        self.limits = limits
        self.hysteresis = hysteresis
        self.minimumDurationSeconds = minimumDurationSeconds
    }

    public func matches(key: String) -> Bool {
        if metricKey.hasSuffix("*") {
            return key.hasPrefix(metricKey.dropLast())
        }
        return key == metricKey
    }

    /// Ranks rules for one key: scope first, then an exact key over a prefix, then the longer prefix.
    public var precedence: (Int, Int) {
        (scope.specificity, metricKey.hasSuffix("*") ? metricKey.count - 1 : Int.max)
    }
}
