/// A time an operator set aside for work on a slot or the whole chassis: alerts raised in it stay
/// visible, marked "in maintenance", and their notifications are held; when it ends, one event
/// says which of them are still open (and that one is notified).
public struct MaintenanceWindow: Sendable, Codable, Equatable {
    public var id: Int64
    /// nil: the whole chassis.
    public var slotID: Int?
    public var startsAt: Double
    public var endsAt: Double
    public var reason: String
    public var createdBy: String

    /// A window is at most this long, and a chassis holds at most `countMax` that have not ended.
    public static let secondsMax = 7 * 86_400.0
    public static let countMax = 64
    /// Ended windows are forgotten this long after their end.
    public static let keptSeconds = 30 * 86_400.0

    public init(id: Int64, slotID: Int?, startsAt: Double, endsAt: Double, reason: String, createdBy: String) {
        self.id = id
        self.slotID = slotID
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.reason = reason
        self.createdBy = createdBy
    }

    /// Whether the window covers `slotID` (nil: the chassis' own devices) at `time`.
    public func covers(slotID other: Int?, at time: Double) -> Bool {
        time >= startsAt && time < endsAt && (slotID == nil || slotID == other)
    }
}

extension Array where Element == MaintenanceWindow {
    /// Whether any window covers `slotID` at `time`.
    public func covers(slotID: Int?, at time: Double) -> Bool {
        contains { $0.covers(slotID: slotID, at: time) }
    }
}
