/// The election as this blade sees it: served at `/api/v1/cluster`.
public struct ClusterView: Sendable, Codable, Equatable {
    public var term: UInt64
    public var active: ClusterMember?
    public var quorum: Bool
    /// Why there is no active manager, when there is none.
    public var reason: String?
    public var members: [ClusterMember]

    public init(term: UInt64, active: ClusterMember?, quorum: Bool, reason: String?, members: [ClusterMember]) {
        self.term = term
        self.active = active
        self.quorum = quorum
        self.reason = reason
        self.members = members
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
