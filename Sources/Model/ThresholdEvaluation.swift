/// Where one metric stands against its thresholds, carried from one sample to the next.
public struct ConditionState: Sendable, Equatable {
    /// The level an alert is raised at, if any.
    public var raised: Severity?
    /// A level seen but not yet held for the minimum duration, and since when.
    public var pending: Severity?
    public var pendingSince: Double = 0

    public init(raised: Severity? = nil, pending: Severity? = nil, pendingSince: Double = 0) {
        self.raised = raised
        self.pending = pending
        self.pendingSince = pendingSince
    }
}

/// What changed for the alert log after one evaluation.
public enum AlertTransition: Sendable, Equatable {
    /// A new condition at this level (any earlier condition of the metric is cleared first).
    case raise(Severity)
    /// The value is back within limits, past the hysteresis.
    case clear
}

/// Turns values into statuses and alert transitions: pure, so it is tested from tables.
public enum ThresholdEvaluator {
    /// The level a value is at against `limits`, with limits moved `relaxedBy` towards normal
    /// (used with the hysteresis to decide when a raised condition clears).
    public static func level(of value: Double, limits: Limits, relaxedBy relaxation: Double = 0) -> Severity? {
        if let high = limits.highCritical, value >= high - relaxation { return .critical }
        if let low = limits.lowCritical, value <= low + relaxation { return .critical }
        if let high = limits.highWarning, value >= high - relaxation { return .warning }
        if let low = limits.lowWarning, value <= low + relaxation { return .warning }
        return nil
    }

    /// One evaluation at time `now` (seconds). A fault or a missing value leaves the condition as
    /// it was and reports `unknown`: an unreadable sensor neither raises nor clears an alert.
    public static func evaluate(value: Double?, limits: Limits, hysteresis: Double, minimumDurationSeconds: Double,
                                now: Double, state: inout ConditionState) -> (status: Status, transition: AlertTransition?) {
        guard let value, value.isFinite else { return (.unknown, nil) }
        let strict = level(of: value, limits: limits)
        var target = strict
        if let raised = state.raised {
            // A raised level holds (never rising by itself) until the value is back past its
            // limit by the hysteresis.
            let relaxed = level(of: value, limits: limits, relaxedBy: hysteresis)
            let held = relaxed.map { min($0, raised) }
            target = maxOptional(strict, held)
        }
        if target == state.raised {
            state.pending = nil
            return (status(for: state.raised), nil)
        }
        // Clearing and lowering take effect at once; a new or higher level must hold for the minimum duration.
        let isRise = target != nil && (state.raised == nil || target! > state.raised!)
        if isRise && minimumDurationSeconds > 0 {
            if state.pending != target {
                state.pending = target
                state.pendingSince = now
            }
            if now - state.pendingSince < minimumDurationSeconds {
                return (status(for: state.raised), nil)
            }
        }
        state.pending = nil
        state.raised = target
        return (status(for: target), target.map { .raise($0) } ?? .clear)
    }

    static func maxOptional(_ a: Severity?, _ b: Severity?) -> Severity? {
        switch (a, b) {
        case (nil, nil): return nil
        case (let x?, nil): return x
        case (nil, let y?): return y
        case (let x?, let y?): return max(x, y)
        }
    }

    public static func status(for severity: Severity?) -> Status {
        switch severity {
        case nil: return .ok
        case .warning: return .warning
        case .critical: return .critical
        }
    }

    /// Where `rule` (as `effectiveRule` chose it) comes from, for the page beside each reading:
    /// the user rule and its scope, else the metric's own limits (libsensors' for a sensor), or
    /// nil when there are none.
    public static func source(of rule: ThresholdRule, descriptorSource: String) -> String? {
        guard rule.id == 0 else {
            let scope: String
            switch rule.scope {
            case .global: scope = "global"
            case .chassis: scope = "chassis"
            case .moduleType(let role): scope = "type \(role)"
            case .slot(let slot): scope = "slot \(slot)"
            }
            return "\(scope) rule \(rule.id)"
        }
        let limits = rule.limits
        guard limits.lowCritical != nil || limits.lowWarning != nil || limits.highWarning != nil || limits.highCritical != nil else {
            return nil
        }
        return descriptorSource == "libsensors" ? "libsensors" : "built-in"
    }

    /// The limits in force for a metric: the most specific user rule, else the hardware's limits.
    public static func effectiveRule(key: String, slotID: Int?, role: String?, chassisID: String,
                                     hardware: Limits, rules: [ThresholdRule]) -> ThresholdRule {
        var best: ThresholdRule?
        for rule in rules where rule.matches(key: key) {
            switch rule.scope {
            case .global: break
            case .chassis(let id): if id != chassisID { continue }
            case .moduleType(let wanted): if wanted != role { continue }
            case .slot(let wanted): if wanted != slotID { continue }
            }
            if best == nil || rule.precedence > best!.precedence { best = rule }
        }
        return best ?? ThresholdRule(scope: .global, metricKey: key, limits: hardware)
    }
}
