import ChassisKeys
import Crypto
import Foundation
import Model

/// Who may call a route, declared with the route and checked once per request at the web edge
/// before any handler runs (handlers never check roles themselves).
public enum AccessRule: String, Sendable, CaseIterable {
    /// Anyone, without logging in (`/health/active`, the login page).
    case anonymous
    /// Any logged-in user, customers included (their scope is applied where the view is built).
    case anyUser
    /// Admins, operators and viewers: reads of the whole chassis.
    case staff
    /// Admins and operators: thresholds, names, intervals, acknowledgements.
    case operate
    /// Admins only: users, tokens, members, hand-over, the audit log.
    case administer
    /// No person: another chassis of the site, with its `Chassis-Site` credential (the summary
    /// one chassis asks of another).
    case site

    public func permits(_ role: Role) -> Bool {
        switch self {
        case .anonymous, .anyUser: return true
        case .staff: return role != .customer
        case .operate: return role == .admin || role == .operator
        case .administer: return role == .admin
        case .site: return false
        }
    }

    /// The roles that may call, for a `403`'s message: "admin or operator".
    public var rolesText: String {
        let roles = Role.allCases.filter(permits).map(\.rawValue)
        switch roles.count {
        case 0: return "no role"
        case 1: return roles[0]
        default: return roles.dropLast().joined(separator: ", ") + " or " + roles[roles.count - 1]
        }
    }
}

/// An authenticated caller.
public struct Principal: Sendable, Equatable {
    public var user: String
    public var role: Role
    /// Set for customers: the only slots they see.
    public var scope: AccessScope?
    /// The session, when the caller came with the session cookie.
    public var session: SessionToken?
    /// The token's id, when the caller came with a bearer token.
    public var tokenID: String?

    public init(user: String, role: Role, scope: AccessScope?, session: SessionToken? = nil, tokenID: String? = nil) {
        self.user = user
        self.role = role
        self.scope = scope
        self.session = session
        self.tokenID = tokenID
    }

    public var via: String { tokenID != nil ? "token" : "session" }

    public func actor(address: String) -> Actor {
        Actor(user: user, role: role, address: address, via: tokenID.map { "token \($0)" } ?? "session")
    }
}

/// How long sessions and tickets live.
public struct SessionPolicy: Sendable, Equatable {
    /// A session unused this long ends (every authenticated request renews it).
    public var idleSeconds: Int64
    /// A session ends this long after the login, used or not.
    public var lifetimeSeconds: Int64
    /// The cookie is rewritten with a new renewal time when the last one is older than this.
    public var renewAfterSeconds: Int64
    /// A transfer ticket is accepted this long after it was made.
    public var ticketSeconds: Int64

    public init(idleSeconds: Int64 = 1_800, lifetimeSeconds: Int64 = 43_200, renewAfterSeconds: Int64 = 60,
                ticketSeconds: Int64 = 90) {
        self.idleSeconds = idleSeconds
        self.lifetimeSeconds = lifetimeSeconds
        self.renewAfterSeconds = renewAfterSeconds
        self.ticketSeconds = ticketSeconds
    }
}

/// What a request's credentials amount to.
public enum Authentication: Sendable, Equatable {
    /// No credentials, or a session cookie that has ended (the page asks to log in again).
    case anonymous(reason: String?)
    /// `renewed` is a new cookie value to send back (the idle timeout moved).
    case authenticated(Principal, renewed: SessionToken?)
    /// A bearer token that is not valid: always a `401`, never treated as anonymous.
    case rejected(reason: String)
}

/// Checks credentials against the replicated access state; pure apart from the key's use.
public struct Authenticator: Sendable {
    public var policy: SessionPolicy
    public var key: SymmetricKey

    public init(policy: SessionPolicy, key: SymmetricKey) {
        self.policy = policy
        self.key = key
    }

    /// Checks a session cookie value.
    public func session(_ cookie: String, access: AccessSnapshot, now: Double) -> Authentication {
        guard let token = SessionToken.decode(cookie, key: key) else { return .anonymous(reason: "the session is not valid") }
        return check(token, access: access, now: now)
    }

    /// Checks a session that was decoded (and its MAC verified) earlier: the user, its generation,
    /// the revocation list and both timeouts.
    public func check(_ token: SessionToken, access: AccessSnapshot, now: Double) -> Authentication {
        let seconds = Int64(now.rounded(.down))
        guard let user = access.users[token.user], user.generation == token.generation else {
            return .anonymous(reason: "the session ended (the user changed or was removed)")
        }
        if access.revokedSessions[token.id] != nil { return .anonymous(reason: "the session ended (logged out)") }
        if seconds - token.startedAt >= policy.lifetimeSeconds { return .anonymous(reason: "the session expired") }
        if seconds - token.renewedAt >= policy.idleSeconds { return .anonymous(reason: "the session expired (idle)") }
        guard token.startedAt <= seconds + 60, token.renewedAt <= seconds + 60 else {
            return .anonymous(reason: "the session is from the future")
        }
        var renewed: SessionToken?
        if seconds - token.renewedAt >= policy.renewAfterSeconds {
            var next = token
            next.renewedAt = seconds
            renewed = next
        }
        return .authenticated(Principal(user: user.name, role: user.role, scope: user.scope, session: token), renewed: renewed)
    }

    /// Checks `Authorization: Bearer cm_…`.
    public func bearer(_ text: String, access: AccessSnapshot, now: Double) -> Authentication {
        guard let (id, secret) = APIToken.parse(text), let token = access.tokens[id] else {
            return .rejected(reason: "the token is not valid")
        }
        guard let expected = Hex.decode(token.secretHash),
              constantTimeEqual(Array(SHA256.hash(data: Array(secret.utf8))), expected) else {
            return .rejected(reason: "the token is not valid")
        }
        if let expires = token.expiresAt, expires <= now { return .rejected(reason: "the token expired") }
        guard let user = access.users[token.user] else { return .rejected(reason: "the token's user was removed") }
        return .authenticated(Principal(user: user.name, role: user.role, scope: user.scope, tokenID: token.id), renewed: nil)
    }

    /// A new session for a user who just logged in.
    public func start<R: RandomNumberGenerator>(user: UserRecord, now: Double, using random: inout R) -> SessionToken {
        let seconds = Int64(now.rounded(.down))
        return SessionToken(id: randomID(using: &random), user: user.name, generation: user.generation, startedAt: seconds,
                            renewedAt: seconds)
    }

    /// A ticket that carries `session` to another blade.
    public func ticket<R: RandomNumberGenerator>(for session: SessionToken, now: Double, using random: inout R) -> TransferTicket {
        TransferTicket(id: randomID(using: &random), session: session,
                       expiresAt: Int64(now.rounded(.down)) + policy.ticketSeconds)
    }

    /// The session a valid, unexpired ticket carries (not yet checked against the access state,
    /// nor for reuse: the caller does both).
    public func redeem(_ text: String, now: Double) -> TransferTicket? {
        guard let ticket = TransferTicket.decode(text, key: key), ticket.expiresAt > Int64(now.rounded(.down)) else { return nil }
        return ticket
    }
}
