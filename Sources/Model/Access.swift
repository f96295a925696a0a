/// Who may see and change what: the replicated records behind users, API tokens, sessions, login
/// throttling and the audit log. Secrets never appear here in clear: passwords as memory-hard
/// hashes, tokens as SHA-256 of their secret part.

/// The four roles a blade-chassis manager offers.
public enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    /// Everything, including users, tokens, members, hand-over and certificates.
    case admin
    /// Thresholds, names, module types, intervals, acknowledgements, maintenance.
    case `operator`
    /// Reads everything, changes nothing.
    case viewer
    /// Reads only the slots named in its scope, changes nothing.
    case customer

    /// Ordered from most to least privileged, for listings.
    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }

    private var rank: Int {
        switch self {
        case .admin: return 0
        case .operator: return 1
        case .viewer: return 2
        case .customer: return 3
        }
    }
}

/// The slots a customer may see: of one chassis (or of the chassis it logs in to, when nil).
public struct AccessScope: Sendable, Codable, Equatable, Hashable {
    public var chassisID: String?
    /// Sorted and without duplicates.
    public var slots: [Int]

    public init(chassisID: String? = nil, slots: [Int]) {
        self.chassisID = chassisID
        self.slots = Array(Set(slots)).sorted()
    }

    public func contains(slot: Int, chassisID current: String) -> Bool {
        (chassisID == nil || chassisID == current) && slots.contains(slot)
    }

    /// `2,3` or `660007770088:2,3`.
    public var text: String {
        let list = slots.map(String.init).joined(separator: ",")
        return chassisID.map { "\($0):\(list)" } ?? list
    }
}

/// A local user, as every blade holds it.
extension UserRecord {
    /// A chassis holds at most this many users (the replicated configuration has to fit a snapshot).
    public static let countMax = 500
}

public struct UserRecord: Sendable, Codable, Equatable {
    public var name: String
    public var role: Role
    /// Set for customers only.
    public var scope: AccessScope?
    /// A PHC string (`$scrypt$ln=15,r=8,p=1$SALT$HASH`): the parameters travel with the hash.
    public var passwordHash: String
    /// Moves on every change of password, role or scope: sessions carry the generation they were
    /// started under, so such a change ends them on every blade.
    public var generation: Int64
    public var createdAt: Double
    public var updatedAt: Double

    public init(name: String, role: Role, scope: AccessScope?, passwordHash: String, generation: Int64,
                createdAt: Double, updatedAt: Double) {
        self.name = name
        self.role = role
        self.scope = scope
        self.passwordHash = passwordHash
        self.generation = generation
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// An API token for scripts and Prometheus: `cm_ID_SECRET` is shown once; only the SHA-256 of
/// the secret is kept. It carries its user's role and scope.
extension TokenRecord {
    /// A chassis holds at most this many API tokens.
    public static let countMax = 1_000
}

public struct TokenRecord: Sendable, Codable, Equatable {
    public var id: String
    public var user: String
    public var label: String
    /// Lower-case hex SHA-256 of the secret part.
    public var secretHash: String
    public var createdAt: Double
    public var expiresAt: Double?

    public init(id: String, user: String, label: String, secretHash: String, createdAt: Double, expiresAt: Double?) {
        self.id = id
        self.user = user
        self.label = label
        self.secretHash = secretHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A session ended before its time (logout): refused on every blade until it would have expired.
public struct RevokedSession: Sendable, Codable, Equatable {
    public var id: String
    public var until: Double

    public init(id: String, until: Double) {
        self.id = id
        self.until = until
    }
}

/// Failed logins counted against one user (`user:NAME`) or one client address (`address:ADDR`).
public struct LoginFailures: Sendable, Codable, Equatable {
    public var key: String
    public var failures: Int
    public var lastFailureAt: Double
    /// Set once the failures reach the lock threshold; an admin may lift it early.
    public var lockedUntil: Double?

    public init(key: String, failures: Int, lastFailureAt: Double, lockedUntil: Double?) {
        self.key = key
        self.failures = failures
        self.lastFailureAt = lastFailureAt
        self.lockedUntil = lockedUntil
    }

    public static func userKey(_ name: String) -> String { "user:" + name }
    public static func addressKey(_ address: String) -> String { "address:" + address }
}

/// Who made a change, and from where.
public struct Actor: Sendable, Codable, Equatable {
    public var user: String
    /// The role the change was made with; nil for the engine itself and the local console.
    public var role: Role?
    /// The client's address (web), or the local console's user id.
    public var address: String
    /// `session`, `token`, `console`, `engine`.
    public var via: String

    public init(user: String, role: Role?, address: String, via: String) {
        self.user = user
        self.role = role
        self.address = address
        self.via = via
    }

    /// A request that came over the control socket without saying who sent it.
    public static func console(uid: UInt32?, pid: Int32?) -> Actor {
        Actor(user: uid.map { $0 == 0 ? "root" : "uid \($0)" } ?? "local", role: nil,
              address: pid.map { "local pid \($0)" } ?? "local", via: "console")
    }
}

/// One entry of the append-only, replicated audit log.
public struct AuditRecord: Sendable, Codable, Equatable {
    public var id: Int64
    public var at: Double
    public var actor: String
    public var role: String
    public var address: String
    public var via: String
    /// `user.add`, `threshold.set`, `login.failed` ...
    public var action: String
    /// What the change is about: `user alice`, `slot 3`, `threshold 12`.
    public var target: String
    /// JSON of the values before and after (nil when there was none); never a secret.
    public var old: String?
    public var new: String?

    public init(id: Int64, at: Double, actor: String, role: String, address: String, via: String, action: String,
                target: String, old: String?, new: String?) {
        self.id = id
        self.at = at
        self.actor = actor
        self.role = role
        self.address = address
        self.via = via
        self.action = action
        self.target = target
        self.old = old
        self.new = new
    }

    /// Limits of the log, applied identically on every blade when a record is appended.
    public static let recordsMax = 2_000
    public static let ageSecondsMax = 90.0 * 86_400
}

/// Everything the web app needs to authenticate and authorize, read in one transaction and kept
/// in memory until the configuration's data version moves.
public struct AccessSnapshot: Sendable, Equatable {
    public var users: [String: UserRecord]
    public var tokens: [String: TokenRecord]
    public var revokedSessions: [String: Double]
    public var loginFailures: [String: LoginFailures]

    public init(users: [String: UserRecord] = [:], tokens: [String: TokenRecord] = [:],
                revokedSessions: [String: Double] = [:], loginFailures: [String: LoginFailures] = [:]) {
        self.users = users
        self.tokens = tokens
        self.revokedSessions = revokedSessions
        self.loginFailures = loginFailures
    }
}
