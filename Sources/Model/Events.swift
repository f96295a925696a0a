/// How much an event matters; alerts' severities and `info` below them.
public enum EventSeverity: String, Sendable, Codable, CaseIterable, Comparable {
    case info
    case warning
    case critical

    public init(_ severity: Severity) {
        self = severity == .critical ? .critical : .warning
    }

    private var rank: Int {
        switch self {
        case .info: return 0
        case .warning: return 1
        case .critical: return 2
        }
    }

    public static func < (a: EventSeverity, b: EventSeverity) -> Bool { a.rank < b.rank }
}

/// What happened to the chassis, in the order the replicated log decided it: alerts raised,
/// acknowledged and cleared, modules inserted and replaced, members added and removed, a new
/// active manager. The same rows, with the same ids, on every blade; notifications are sent from
/// them, and a target's position in them is what the next active manager resumes from.
public struct ChassisEvent: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case alertRaised = "alert.raised"
        case alertAcknowledged = "alert.acknowledged"
        case alertCleared = "alert.cleared"
        /// An acknowledgement given for a time ran out while the alert was still open.
        case alertAcknowledgementExpired = "alert.acknowledgement-expired"
        case moduleInserted = "module.inserted"
        case moduleReplaced = "module.replaced"
        case moduleApproved = "module.approved"
        case memberAdded = "member.added"
        case memberRemoved = "member.removed"
        case maintenanceScheduled = "maintenance.scheduled"
        case maintenanceEnded = "maintenance.ended"
        case maintenanceRemoved = "maintenance.removed"
        /// The chassis had no majority (so no active manager and no changes) for a while.
        case quorumLost = "cluster.quorum-lost"
        /// An operator asked for a power or identify action; how it ended.
        case powerRequested = "power.requested"
        case powerSucceeded = "power.succeeded"
        case powerFailed = "power.failed"
        /// Started by an active manager that failed before it reported: not repeated.
        case powerInterrupted = "power.interrupted"
    }

    public var id: Int64
    public var at: Double
    public var kind: Kind
    public var severity: EventSeverity
    /// nil for the chassis itself.
    public var slotID: Int?
    /// The alert the event is about, for the alert kinds.
    public var alertID: Int64?
    /// The metric key of the alert (`cpu.usage`, `blade.reporting`), for the alert kinds.
    public var metricKey: String?
    public var message: String

    /// The event log keeps this many newest events, none older than `keptSeconds` before the
    /// newest, in snapshots and on every blade alike (the bound is applied as each is appended).
    public static let recordsMax = 2_000
    public static let keptSeconds = 90 * 86_400.0

    public init(id: Int64, at: Double, kind: Kind, severity: EventSeverity, slotID: Int?, alertID: Int64?,
                metricKey: String?, message: String) {
        self.id = id
        self.at = at
        self.kind = kind
        self.severity = severity
        self.slotID = slotID
        self.alertID = alertID
        self.metricKey = metricKey
        self.message = message
    }
}
