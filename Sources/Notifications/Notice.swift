import Model

/// One thing to tell a receiver: an event of the chassis with what a receiver needs to read it
/// on its own (which chassis, which slot and module), and a stable id (`CHASSIS-EVENT`) that
/// stays the same however many times it is sent, so that receivers can drop repeats.
public struct Notice: Sendable, Equatable {
    public var event: ChassisEvent
    public var chassisID: String
    public var chassisName: String
    /// The serial number of the module in the slot, when known.
    public var module: String?
    /// The page of the alert log for this slot, when the chassis has an address.
    public var link: String?

    public init(event: ChassisEvent, chassisID: String, chassisName: String, module: String? = nil, link: String? = nil) {
        self.event = event
        self.chassisID = chassisID
        self.chassisName = chassisName
        self.module = module
        self.link = link
    }

    public var id: String { "\(chassisID)-\(event.id)" }
    public var place: String { event.slotID.map { "slot \($0)" } ?? "chassis" }

    /// `[chassis] CRITICAL raised, slot 3: message`: one line for a subject or a log.
    public var summary: String {
        let what: String
        switch event.kind {
        case .alertRaised: what = "\(event.severity.rawValue.uppercased()) raised"
        case .alertCleared: what = "\(event.severity.rawValue) cleared"
        case .alertAcknowledged: what = "acknowledged"
        case .alertAcknowledgementExpired: what = "\(event.severity.rawValue.uppercased()) again (acknowledgement expired)"
        case .moduleInserted: what = "module inserted"
        case .moduleReplaced: what = "module replaced"
        case .moduleApproved: what = "module approved"
        case .memberAdded: what = "member added"
        case .memberRemoved: what = "member removed"
        case .maintenanceScheduled: what = "maintenance scheduled"
        case .maintenanceEnded: what = "maintenance ended"
        case .maintenanceRemoved: what = "maintenance cancelled"
        case .quorumLost: what = "QUORUM was lost"
        case .powerRequested: what = "power action asked"
        case .powerSucceeded: what = "power action done"
        case .powerFailed: what = "power action FAILED"
        case .powerInterrupted: what = "power action INTERRUPTED"
        }
        return "[\(chassisName)] \(what), \(place): \(event.message)"
    }

    /// Whether a target that wants `minimum` and above is sent this.
    public func reaches(_ minimum: EventSeverity) -> Bool { event.severity >= minimum }
}
