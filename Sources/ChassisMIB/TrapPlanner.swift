import Model

/// A notification to send.
public enum TrapEvent: Sendable, Equatable {
    /// An alert raised (`cleared` false) or cleared.
    case alert(Alert, cleared: Bool)
    /// This blade became the active manager; `previous` names the one before ("" if unknown).
    case managerChanged(ChassisMIB.Manager, previous: String)
}

/// Decides which notifications to send from what the store shows, observation after observation.
/// Pure: the subagent feeds it the alerts and this blade's role at each refresh and sends what
/// it returns. Every blade's subagent observes (every store holds the replicated alert log), but
/// only the active manager's sends: a change seen while standby is held for `heldSeconds` and
/// sent if this blade becomes active meanwhile (a failover during the change), so a receiver may
/// see an event twice, never not at all unless no blade was active for longer than that. Receivers
/// de-duplicate by cmAlertId and state.
public struct TrapPlanner: Sendable {
    public static let heldSeconds = 10.0
    public static let heldMax = 1_000

    /// Each known alert's state (cleared or not); nil before the first observation.
    private var known: [Int64: Bool]?
    private var held: [(time: Double, event: TrapEvent)] = []
    private var wasActive = false
    private var lastActiveName = ""

    public init() {}

    /// - Parameters:
    ///   - active: whether this blade is the active manager now (its lease valid).
    ///   - manager: the cluster as this blade sees it (the active's name and the term).
    public mutating func observe(alerts: [Alert], active: Bool, manager: ChassisMIB.Manager, now: Double) -> [TrapEvent] {
        var events: [TrapEvent] = []
        // The first observation is the baseline: what was there before this process started is
        // not news (a restarted subagent does not repeat the alert log).
        let first = known == nil
        if let known {
            for alert in alerts.sorted(by: { $0.id < $1.id }) {
                let cleared = alert.clearedAt != nil
                switch known[alert.id] {
                case nil:
                    events.append(.alert(alert, cleared: false))
                    if cleared { events.append(.alert(alert, cleared: true)) }
                case false? where cleared:
                    events.append(.alert(alert, cleared: true))
                default:
                    break
                }
            }
        }
        known = Dictionary(alerts.map { ($0.id, $0.clearedAt != nil) }, uniquingKeysWith: { $1 })

        var sent: [TrapEvent] = []
        if active && !wasActive && !first {
            // Became active: say so, then what changed while this blade was not yet sending.
            sent.append(.managerChanged(manager, previous: lastActiveName == manager.localName ? "" : lastActiveName))
            sent += held.filter { now - $0.time <= Self.heldSeconds }.map(\.event)
            held.removeAll()
        }
        if active {
            sent += events
        } else {
            held = held.filter { now - $0.time <= Self.heldSeconds } + events.map { (now, $0) }
            if held.count > Self.heldMax { held.removeFirst(held.count - Self.heldMax) }
        }
        wasActive = active
        if !manager.activeName.isEmpty && manager.activeName != manager.localName { lastActiveName = manager.activeName }
        else if active { lastActiveName = manager.localName }
        return sent
    }
}
