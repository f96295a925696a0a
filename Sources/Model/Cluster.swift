/// The election as this blade sees it: served at `/api/v1/cluster`.
public struct ClusterView: Sendable, Codable, Equatable {
    public var term: UInt64
    public var active: ClusterMember?
    public var quorum: Bool
    /// Why there is no active manager, when there is none.
    public var reason: String?
    public var members: [ClusterMember]
    /// How this blade's notifications fare (on the active manager, which sends them).
    public var notifications: [NotificationStatus]?

    public init(term: UInt64, active: ClusterMember?, quorum: Bool, reason: String?, members: [ClusterMember],
                notifications: [NotificationStatus]? = nil) {
        self.term = term
        self.active = active
        self.quorum = quorum
        self.reason = reason
        self.members = members
        self.notifications = notifications
    }
}

/// One notification target's delivery as the blade that sends them counts it.
public struct NotificationStatus: Sendable, Codable, Equatable {
    public var target: String
    public var sent: Int
    public var failed: Int
    /// Events the log no longer held when the target could take them.
    public var dropped: Int
    public var lastError: String?
    public var lastSuccessAt: Double?
    public var lastFailureAt: Double?

    public init(target: String, sent: Int, failed: Int, dropped: Int, lastError: String?, lastSuccessAt: Double?,
                lastFailureAt: Double?) {
        self.target = target
        self.sent = sent
        self.failed = failed
        self.dropped = dropped
        self.lastError = lastError
        self.lastSuccessAt = lastSuccessAt
        self.lastFailureAt = lastFailureAt
    }
}

public struct ClusterMember: Sendable, Codable, Equatable {
    public var name: String
    public var address: String
    /// Base URL of the member's web server, e.g. `http://127.0.1.2:8080`.
    public var url: String
    public var slotID: Int?
    /// `active`, `standby`, `candidate`, `down` or `witness`.
    public var role: ManagerRole
    /// Wall-clock time the member was last heard from; nil if never.
    public var lastHeardAt: Double?
    /// Its identity in the election and the port of its engine's peer transport: what a blade
    /// joining by naming one member (`join_via`) needs to reach the others.
    public var memberID: Int?
    public var peerPort: Int?

    public init(name: String, address: String, url: String, slotID: Int?, role: ManagerRole, lastHeardAt: Double?,
                memberID: Int? = nil, peerPort: Int? = nil) {
        self.name = name
        self.address = address
        self.url = url
        self.slotID = slotID
        self.role = role
        self.lastHeardAt = lastHeardAt
        self.memberID = memberID
        self.peerPort = peerPort
    }
}
