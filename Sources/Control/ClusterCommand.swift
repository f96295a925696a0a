import Model

/// A command of the replicated configuration log: committed on a majority, then applied in the
/// same order on every blade. Every command carries the time it was decided, so that applying it
/// gives the same rows everywhere.
public enum ClusterCommand: Sendable, Codable, Equatable {
    /// An operator's change (thresholds, names, module types, acknowledgements, intervals), from
    /// an engine of the previous version: recorded in the audit log as the console's.
    case control(ControlRequest, at: Double)
    /// An operator's change and who made it: applied, then recorded in the audit log with the
    /// values before and after.
    case audited(ControlRequest, actor: Actor, at: Double)
    /// The active manager saw a metric cross its thresholds.
    case raiseAlert(slotID: Int?, metricKey: String, metricLabel: String, severity: Severity, message: String,
                    value: Double?, at: Double)
    /// The active manager saw the metric return within its thresholds.
    case clearAlert(slotID: Int?, metricKey: String, at: Double)
    /// The active manager saw a module with a new serial number in a slot (or the first one).
    case recordModule(slotID: Int, module: ModuleInfo, at: Double)
    /// How to reach a member added at run time (its identity chosen by the active manager).
    case member(name: String, memberID: UInt32, address: String, slot: Int?, port: Int, priority: Int?, witness: Bool)
    /// Forget a removed member's endpoint.
    case dropMember(name: String)
    /// A change made outside the log (a hand-over, a membership change), recorded in the audit
    /// log once it took effect.
    case auditEvent(AuditRecord)
    /// The chassis' certificate authority, created by the first active manager: its certificate,
    /// and its private key sealed under a key derived from the cluster key. The first one wins.
    case setCertificateAuthority(certificatePEM: String, sealedKey: String, at: Double)
    /// The active manager delivered the events up to `eventID` to a notification target, so that
    /// the next active manager resumes after them.
    case notificationProgress(target: String, eventID: Int64)
    /// The active manager saw an acknowledgement's time run out while its alert was open.
    case acknowledgementLapsed(alertID: Int64, at: Double)
    /// The active manager saw a maintenance window end: one event names the alerts still open in it.
    case maintenanceEnded(id: Int64, at: Double)
    /// Something the active manager saw happen that is not an alert's change (a member joined or
    /// left): an entry of the event log.
    case event(kind: ChassisEvent.Kind, severity: EventSeverity, slotID: Int?, message: String, at: Double)
    /// The active manager `by` is about to run a power or identify action (attempt `attempt`):
    /// committed before the command runs, so that a cycle or reset is never run twice.
    case powerStarted(id: Int64, by: String, attempt: Int, at: Double)
    /// How a power or identify action ended, with the end of the command's output.
    case powerFinished(id: Int64, state: PowerActionState, exitStatus: Int?, output: String, at: Double)
}
