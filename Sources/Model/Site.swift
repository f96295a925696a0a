/// What one chassis tells the other chassis of its site (`GET /api/v1/site/summary`, sealed):
/// enough for a site page row and a link, nothing of a module's values.
public struct SiteSummary: Sendable, Codable, Equatable {
    public var chassisID: String
    public var name: String
    /// Site, row, rack and shelf, joined as the chassis' own pages show them.
    public var location: String
    public var status: Status
    public var slots: Int
    /// Slots whose blade reports (not down, not off, not empty).
    public var bladesUp: Int
    public var bladesDown: Int
    public var alertsCritical: Int
    public var alertsWarning: Int
    /// Raised and not acknowledged.
    public var alertsNew: Int
    /// The blade that answered, and whether it is the active manager.
    public var answeredBy: String
    public var answeredByActive: Bool
    public var activeManager: String?
    /// Where a browser reaches the active manager (`https://ADDRESS[:PORT]`), and the address
    /// another chassis asks next.
    public var activeURL: String?
    public var activeAddress: String?
    public var term: UInt64
    /// When the answering blade's data was current (its engine's last publication, wall clock).
    public var updatedAt: Double?
    public var stale: Bool

    public init(chassisID: String, name: String, location: String, status: Status, slots: Int, bladesUp: Int, bladesDown: Int,
                alertsCritical: Int, alertsWarning: Int, alertsNew: Int, answeredBy: String, answeredByActive: Bool,
                activeManager: String?, activeURL: String?, activeAddress: String?, term: UInt64, updatedAt: Double?, stale: Bool) {
        self.chassisID = chassisID
        self.name = name
        self.location = location
        self.status = status
        self.slots = slots
        self.bladesUp = bladesUp
        self.bladesDown = bladesDown
        self.alertsCritical = alertsCritical
        self.alertsWarning = alertsWarning
        self.alertsNew = alertsNew
        self.answeredBy = answeredBy
        self.answeredByActive = answeredByActive
        self.activeManager = activeManager
        self.activeURL = activeURL
        self.activeAddress = activeAddress
        self.term = term
        self.updatedAt = updatedAt
        self.stale = stale
    }

    /// The summary of `snapshot` as the blade `local` answers it.
    public static func of(_ snapshot: ChassisSnapshot, local: LocalView, activeName: String?, stale: Bool) -> SiteSummary {
        let open = snapshot.alerts.filter { $0.clearedAt == nil }
        let chassis = snapshot.chassis
        let location = [chassis.site, chassis.row, chassis.rack, chassis.shelf].filter { !$0.isEmpty }.joined(separator: " / ")
        let active = local.leaseValid && local.role == .active
        return SiteSummary(
            chassisID: chassis.chassisID, name: chassis.name, location: location, status: chassis.status,
            slots: chassis.slotCount,
            bladesUp: snapshot.slots.filter { $0.module != nil && $0.downSince == nil && $0.status != .off && $0.status != .down }.count,
            bladesDown: snapshot.slots.filter { $0.status == .down || $0.downSince != nil }.count,
            alertsCritical: open.filter { $0.severity == .critical }.count,
            alertsWarning: open.filter { $0.severity == .warning }.count,
            alertsNew: open.filter { $0.acknowledgedAt == nil }.count,
            answeredBy: local.blade, answeredByActive: active,
            activeManager: active ? local.blade : activeName,
            activeURL: local.activeURL, activeAddress: active ? local.address : local.activeAddress,
            term: local.term, updatedAt: snapshot.engine.updatedAt, stale: stale)
    }
}

/// One other chassis of the site as this chassis' active manager last found it.
public struct SiteChassisState: Sendable, Codable, Equatable {
    /// The name `[[site_chassis]]` gives it.
    public var name: String
    public var reachable: Bool
    /// The last summary it answered (kept while it is unreachable, to show what it was).
    public var summary: SiteSummary?
    /// When it last answered, and since when it has not (nil while it answers).
    public var lastAnswerAt: Double?
    public var unreachableSince: Double?
    /// Why the last question failed.
    public var problem: String?
    /// The address that answered last: asked first next time.
    public var address: String?
    public var checkedAt: Double?

    public init(name: String) {
        self.name = name
        reachable = false
    }

    /// The state after one round of questions at `now`: an answer, or the reason there was none.
    /// A chassis never heard from is unreachable since the first failed round.
    public func after(_ result: Result<(summary: SiteSummary, address: String), SiteProblem>, now: Double) -> SiteChassisState {
        var next = self
        next.checkedAt = now
        switch result {
        case .success(let answer):
            next.reachable = true
            next.summary = answer.summary
            next.address = answer.address
            next.lastAnswerAt = now
            next.unreachableSince = nil
            next.problem = nil
        case .failure(let problem):
            next.reachable = false
            next.problem = problem.description
            if reachable || unreachableSince == nil { next.unreachableSince = now }
        }
        return next
    }
}

public struct SiteProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
