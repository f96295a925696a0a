import Model

/// A request to the local engine over its control socket: one JSON object per line.
///
/// The web app and `chassisctl` never write the state directory; every change goes through here,
/// and from the engine through the consensus log once peers exist.
public enum ControlRequest: Sendable, Codable, Equatable {
    /// Liveness and this blade's view.
    case ping
    /// User-defined thresholds for a metric key at a scope; `nil` limits remove the user thresholds.
    case setThreshold(ThresholdRule)
    case removeThreshold(id: Int64)
    case setChassisInfo(name: String?, site: String?, row: String?, rack: String?, shelf: String?)
    case setSlot(slotID: Int, name: String?, moduleType: ModuleType?)
    /// `comment` says why; `until` ends the acknowledgement (the alert is then new again).
    case acknowledgeAlert(id: Int64, by: String, comment: String? = nil, until: Double? = nil)
    /// Sampling interval of one group, in milliseconds.
    case setInterval(group: SamplingGroup, intervalMs: Int)
    /// Asks the active manager to hand over, to a named member or to the most preferred other.
    case handOver(to: String?)
    /// Adds a member (a blade hot-added into an empty slot, or a witness), one at a time.
    case addMember(name: String, address: String, slot: Int?, port: Int, priority: Int?, witness: Bool)
    /// Removes a member (a dead blade), one at a time. The active manager cannot remove itself.
    case removeMember(name: String)

    // Users, tokens and sessions. Passwords arrive already hashed (the web app or chassisctl
    // hashes them); token secrets as their SHA-256. Nothing secret enters the log.

    /// A new local user; `scope` for customers only.
    case addUser(name: String, role: Role, scope: AccessScope?, passwordHash: String)
    /// Changes a user's password, or role (with the scope that goes with it), or both. Any change
    /// ends the user's sessions on every blade.
    case updateUser(name: String, role: Role?, scope: AccessScope?, passwordHash: String?)
    /// Removes a user, its tokens and its sessions.
    case removeUser(name: String)
    case createToken(id: String, user: String, label: String, secretHash: String, expiresAt: Double?)
    case revokeToken(id: String)
    /// Logout: the session is refused on every blade until `until` (when it would have expired).
    case endSession(id: String, user: String, until: Double)
    /// A login attempt, for the audit log and the throttle's counters.
    case recordLogin(user: String, address: String, success: Bool)
    /// An admin lifts the throttle's lock of a user, an address, or both.
    case liftLoginLock(user: String?, address: String?)

    /// Where notifications go, the whole set at once. An email target's `password` is sealed by
    /// the engine before the change enters the log; a target given without one keeps the sealed
    /// password of the same login it replaces.
    case setNotifications(NotificationTargets)
    /// The active manager sends a test message to every target now and answers how each went.
    case testNotifications
    /// A maintenance window on a slot (nil: the whole chassis); `by` is who scheduled it.
    case addMaintenance(slotID: Int?, startsAt: Double, endsAt: Double, reason: String, by: String)
    /// Cancels a window (or ends it early).
    case removeMaintenance(id: Int64)
    /// How the slot's identity holds to its module; `slot+serial` approves the module now in it.
    case setSlotAffinity(slotID: Int, affinity: SlotAffinity)
    /// Approves the module with this serial, now in the slot, under `slot+serial`.
    case approveModule(slotID: Int, serial: String)
    /// The members a group's values are sent to; nil: all (the default).
    case setReplication(group: SamplingGroup, members: [String]?)
    /// Powers a slot on, shuts it down, powers it off, cycles or resets it, or lights its identify
    /// LED: recorded in the log, then carried out by the active manager. `handOver` on the active
    /// manager's own slot: hand over first, and the next active manager carries it out.
    case power(slotID: Int, action: PowerAction, handOver: Bool)
}

/// A request and who sends it: the web app says which user, with which role, from which address;
/// a request without an actor (chassisctl on the blade) is recorded as the local console's.
public struct ControlEnvelope: Sendable, Codable, Equatable {
    public var request: ControlRequest
    public var actor: Actor?

    public init(request: ControlRequest, actor: Actor?) {
        self.request = request
        self.actor = actor
    }
}

extension ControlRequest {
    /// Whether the request changes users, tokens, sessions or login counters.
    public var changesAccess: Bool {
        switch self {
        case .addUser, .updateUser, .removeUser, .createToken, .revokeToken, .endSession, .recordLogin, .liftLoginLock: return true
        default: return false
        }
    }

    /// A short name of the change for the audit log: `threshold.set`, `user.add` ...
    public var auditAction: String {
        switch self {
        case .ping: return "ping"
        case .setThreshold: return "threshold.set"
        case .removeThreshold: return "threshold.remove"
        case .setChassisInfo: return "chassis.set"
        case .setSlot: return "slot.set"
        case .acknowledgeAlert: return "alert.acknowledge"
        case .setInterval: return "interval.set"
        case .handOver: return "manager.handover"
        case .addMember: return "member.add"
        case .removeMember: return "member.remove"
        case .addUser: return "user.add"
        case .updateUser: return "user.update"
        case .removeUser: return "user.remove"
        case .createToken: return "token.create"
        case .revokeToken: return "token.revoke"
        case .endSession: return "session.end"
        case .recordLogin(_, _, let success): return success ? "login.succeeded" : "login.failed"
        case .liftLoginLock: return "login.unlock"
        case .setNotifications: return "notifications.set"
        case .testNotifications: return "notifications.test"
        case .addMaintenance: return "maintenance.add"
        case .removeMaintenance: return "maintenance.remove"
        case .setSlotAffinity: return "slot.affinity"
        case .approveModule: return "module.approve"
        case .setReplication: return "replication.set"
        case .power(_, let action, _): return "power." + action.rawValue
        }
    }
}

/// The engine's answer to one request.
public struct ControlResponse: Sendable, Codable, Equatable {
    public var ok: Bool
    /// What went wrong, for the operator; nil when ok.
    public var error: String?
    /// HTTP-like status class for the web app to map: 200, 400, 404, 409, 503.
    public var code: Int
    /// Id of what was created, if any.
    public var id: Int64?
    /// When not the active manager, where to send the request instead.
    public var activeAddress: String?
    /// Lines of a report (a notification test: one line per target).
    public var report: [String]?

    public init(ok: Bool, error: String? = nil, code: Int = 200, id: Int64? = nil, activeAddress: String? = nil,
                report: [String]? = nil) {
        self.ok = ok
        self.error = error
        self.code = code
        self.id = id
        self.activeAddress = activeAddress
        self.report = report
    }

    public static func failure(_ message: String, code: Int = 400) -> ControlResponse {
        ControlResponse(ok: false, error: message, code: code)
    }
}

/// Limits of the control protocol, in one place.
public enum ControlLimits {
    /// A request or response line longer than this is refused.
    public static let lineBytesMax = 64 * 1024
    /// The client gives up on an engine that does not answer within this time.
    public static let replyTimeoutMs = 3_000
}
