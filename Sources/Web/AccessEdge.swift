import Access
import ChassisKeys
import Config
import Crypto
import Foundation
import Model

/// How the web edge authenticates and whom it answers: the names of the chassis, the ports, the
/// session policy and the key behind sessions.
public struct AccessSettings: Sendable {
    public var policy: SessionPolicy
    /// Names the chassis answers to (DNS names, a virtual address) besides the members' addresses.
    public var hostNames: [String]
    /// The members' addresses from the configuration file (the cluster view adds those learnt since).
    public var memberAddresses: [String]
    /// The HTTPS port browsers use (0: HTTPS is off, and pages are served over `httpPort`).
    public var httpsPort: Int
    public var httpPort: Int
    /// Networks from which `/metrics` may be scraped without a token.
    public var metricsAnonymousNetworks: [String]
    public var passwordParameters: PasswordHash.Parameters
    /// Reads the session key (written by the engine); retried until it succeeds.
    public var loadKey: @Sendable () throws -> SymmetricKey

    public static let cookieName = "chassis_session"

    public init(policy: SessionPolicy = SessionPolicy(), hostNames: [String] = [], memberAddresses: [String] = [],
                httpsPort: Int = 0, httpPort: Int = 8080, metricsAnonymousNetworks: [String] = [],
                passwordParameters: PasswordHash.Parameters = .standard,
                loadKey: @escaping @Sendable () throws -> SymmetricKey) {
        self.policy = policy
        self.hostNames = hostNames
        self.memberAddresses = memberAddresses
        self.httpsPort = httpsPort
        self.httpPort = httpPort
        self.metricsAnonymousNetworks = metricsAnonymousNetworks
        self.passwordParameters = passwordParameters
        self.loadKey = loadKey
    }

    /// The origin a browser gives pages of `host`: `https://HOST[:PORT]`, or plain HTTP when off.
    func origin(host: String) -> String {
        switch httpsPort {
        case 0: return httpPort == 80 ? "http://\(host)" : "http://\(host):\(httpPort)"
        case 443: return "https://\(host)"
        default: return "https://\(host):\(httpsPort)"
        }
    }
}

/// The access state as of the configuration's data version, and the session key, shared by every
/// worker thread: the session check costs an HMAC and dictionary look-ups, never a SQLite read
/// (the store is read again only when the configuration changed).
final class AccessState: @unchecked Sendable {
    private let lock = NSLock()
    private var version: String?
    private var snapshot = AccessSnapshot()
    private var key: SymmetricKey?
    private var cluster: (version: String, addresses: Set<String>)?
    /// Ticket ids already redeemed here, with when they expire: each is accepted once per blade.
    private var redeemed: [String: Int64] = [:]
    static let redeemedMax = 10_000
    /// Cookie values whose MAC was checked, with what they say: a poll costs a dictionary look-up
    /// instead of parsing and an HMAC (perf by hand under `make bench-web`'s load: the session check
    /// was a quarter of the app's time; `make bench-web`'s ratio went from 0.583 to 0.605). The session itself (user, generation, logout, timeouts) is checked every time.
    private var verified: [String: SessionToken] = [:]
    static let verifiedMax = 4_096

    func verifiedSession(_ cookie: String, key: SymmetricKey) -> SessionToken? {
        lock.lock()
        if let token = verified[cookie] {
            lock.unlock()
            return token
        }
        lock.unlock()
        guard let token = SessionToken.decode(cookie, key: key) else { return nil }
        lock.lock()
        if verified.count >= Self.verifiedMax { verified.removeAll(keepingCapacity: true) }
        verified[cookie] = token
        lock.unlock()
        return token
    }

    /// The configuration part of a data version (`CONFIG-METRICS`): metrics change every second,
    /// users and tokens only when the configuration does.
    static func configurationPart(_ version: String) -> String {
        version.split(separator: "-", maxSplits: 1).first.map(String.init) ?? version
    }

    /// The whole data version last seen, so that an unchanged one costs one comparison.
    private var fullVersion: String?

    func snapshot(source: StateSource) throws -> AccessSnapshot {
        let full = try source.dataVersion()
        lock.lock()
        defer { lock.unlock() }
        if full == fullVersion, version != nil { return snapshot }
        let latest = Self.configurationPart(full)
        if latest != version {
            snapshot = try source.access()
            version = latest
        }
        fullVersion = full
        return snapshot
    }

    /// Forgets the snapshot, so that the next request reads the store again: after this web
    /// app's own change of access (a logout, a revoked token) the change holds at once, without
    /// waiting for the reader's next data-version check.
    func invalidate() {
        lock.lock()
        version = nil
        lock.unlock()
    }

    func key(_ settings: AccessSettings) throws -> SymmetricKey {
        lock.lock()
        defer { lock.unlock() }
        if let key { return key }
        let loaded = try settings.loadKey()
        key = loaded
        return loaded
    }

    /// The members' addresses from the cluster view, read again only when the data version moved.
    func clusterAddresses(source: StateSource) -> Set<String> {
        guard let version = try? source.dataVersion() else { return [] }
        lock.lock()
        if let cluster, cluster.version == version {
            lock.unlock()
            return cluster.addresses
        }
        lock.unlock()
        let addresses = Set(((try? source.cluster())?.members ?? []).map(\.address))
        lock.lock()
        cluster = (version, addresses)
        lock.unlock()
        return addresses
    }

    /// Marks a ticket as used; false if it was used before.
    func redeem(ticketID: String, expiresAt: Int64, now: Int64) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if redeemed[ticketID] != nil { return false }
        if redeemed.count >= Self.redeemedMax {
            redeemed = redeemed.filter { $0.value > now }
            // Still full of live tickets: refuse rather than forget one that may be replayed.
            if redeemed.count >= Self.redeemedMax { return false }
        }
        redeemed[ticketID] = expiresAt
        return true
    }
}

extension WebApp {
    // MARK: Whom the chassis answers

    /// Whether the request names this chassis: one of its configured names or a member's address.
    /// Anything else (DNS rebinding: a hostile name that resolves to a blade) gets `421`.
    func hostAllowed(_ request: Request, source: StateSource) -> Bool {
        guard let header = request.header("Host"), !header.isEmpty else { return false }
        let host = Self.hostName(header)
        if access.hostNames.contains(where: { $0.lowercased() == host }) || access.memberAddresses.contains(host) { return true }
        return state.clusterAddresses(source: source).contains(host)
    }

    /// Whether `origin` is a page of this chassis: the right scheme and port, and a host it answers to.
    func originAllowed(_ origin: String, source: StateSource) -> Bool {
        let hosts = access.hostNames.map { $0.lowercased() } + access.memberAddresses
            + Array(state.clusterAddresses(source: source))
        return hosts.contains { access.origin(host: $0) == origin }
    }

    // MARK: Credentials

    /// The principal of another blade's engine (`Authorization: Chassis-Member …`), which may
    /// only read `/api/v1/cluster` (a blade joining with join_via).
    static let memberPrincipal = Principal(user: "chassis-member", role: .viewer, scope: nil, tokenID: "member")

    static func isMemberRequest(_ request: Request) -> Bool {
        request.header("Authorization")?.hasPrefix(MemberCredential.scheme + " ") ?? false
    }

    /// What the request's credentials amount to. A bearer token wins over a cookie.
    func authenticate(_ request: Request, source: StateSource) throws -> Authentication {
        if Self.isMemberRequest(request), let header = request.header("Authorization") {
            let key = try state.key(access).withUnsafeBytes { Array($0) }
            let credential = String(header.dropFirst(MemberCredential.scheme.count + 1))
            return MemberCredential.verify(credential, webKey: key, seconds: Int64(now()))
                ? .authenticated(Self.memberPrincipal, renewed: nil) : .rejected(reason: "the member credential is not valid")
        }
        let bearer = Self.bearer(request.header("Authorization"))
        // Redfish's X-Auth-Token is the session a Redfish login gave: the cookie's value.
        let cookie = request.header("X-Auth-Token") ?? Self.cookie(AccessSettings.cookieName, in: request.header("Cookie"))
        if bearer == nil && cookie == nil {
            return request.header("Authorization") == nil ? .anonymous(reason: nil)
                : .rejected(reason: "only Bearer tokens are accepted in Authorization")
        }
        let authenticator = Authenticator(policy: access.policy, key: try state.key(access))
        let snapshot = try state.snapshot(source: source)
        if let bearer { return authenticator.bearer(bearer, access: snapshot, now: now()) }
        guard let token = state.verifiedSession(cookie ?? "", key: authenticator.key) else {
            return .anonymous(reason: "the session is not valid")
        }
        return authenticator.check(token, access: snapshot, now: now())
    }

    /// `Set-Cookie` for a session: `Secure; HttpOnly; SameSite=Strict`, no lifetime of its own
    /// (it ends with the browser; the server enforces the idle and absolute limits).
    func sessionCookie(_ token: SessionToken) throws -> String {
        "\(AccessSettings.cookieName)=\(token.encode(key: try state.key(access))); Path=/; Secure; HttpOnly; SameSite=Strict"
    }

    static var clearedCookie: String {
        "\(AccessSettings.cookieName)=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict"
    }

    /// Where an anonymous page request goes: `/login?next=PATH`, a relative path only.
    static func loginRedirect(for request: Request) -> Response {
        let next = safeReturnPath(request.rawTarget)
        let location = next == "/" ? "/login" : "/login?next=" + URLCoding.encodeComponent(next)
        return Response(status: 303, headers: [("Location", location), ("Cache-Control", "no-store")])
    }

    /// The edge's decision for one request, before any handler runs: nil to go on, else the answer.
    func admit(_ exchange: inout Exchange) -> Response? {
        let request = exchange.request
        let route = exchange.route
        let rule = route.rule(method: request.method)
        let authentication: Authentication
        do {
            if Self.isSiteRequest(request) {
                // Verified once, here; the summary is sealed for this very question.
                exchange.siteCredential = siteCredential(request)
                authentication = exchange.siteCredential != nil
                    ? .authenticated(Self.sitePrincipal, renewed: nil) : .rejected(reason: "the site credential is not valid")
            } else {
                authentication = try authenticate(request, source: exchange.source)
            }
        } catch {
            return unavailable(request, reason: "Sessions cannot be checked yet: \(error)", json: route.answersJSON)
        }
        switch authentication {
        case .rejected(let reason):
            var response = failure(401, reason, json: route.answersJSON, request: request)
            response.setHeader("WWW-Authenticate", "Bearer realm=\"chassis\", error=\"invalid_token\"")
            return response
        case .anonymous(let reason):
            exchange.endedSession = reason != nil
            if rule == .anonymous { break }
            if route == .metrics, IPv4.contains(access.metricsAnonymousNetworks, address: request.remoteAddress) {
                exchange.anonymousScrape = true
                break
            }
            if !route.answersJSON && route != .metrics && (request.method == "GET" || request.method == "HEAD") {
                var response = Self.loginRedirect(for: request)
                if reason != nil { response.headers.append(("Set-Cookie", Self.clearedCookie)) }
                return response
            }
            var response = failure(401, reason.map { "\($0): log in again" } ?? "log in first (a session, or Authorization: Bearer TOKEN)",
                                   json: route.answersJSON, request: request)
            response.setHeader("WWW-Authenticate", "Bearer realm=\"chassis\"")
            if reason != nil { response.headers.append(("Set-Cookie", Self.clearedCookie)) }
            return response
        case .authenticated(let principal, let renewed):
            if principal == Self.memberPrincipal && route != .apiCluster {
                return failure(403, "a member credential reads /api/v1/cluster only", json: route.answersJSON, request: request)
            }
            if principal == Self.sitePrincipal && rule != .site {
                return failure(403, "a site credential reads /api/v1/site/summary only", json: route.answersJSON, request: request)
            }
            guard rule.permits(principal.role) || principal == Self.sitePrincipal else {
                let message = "\(principal.role.rawValue) may not do this: it needs the role \(rule.rolesText)"
                if route.answersJSON {
                    let body = (try? JSON.encode(ForbiddenDocument(error: message, required: Role.allCases.filter(rule.permits).map(\.rawValue),
                                                                   role: principal.role.rawValue)))
                        ?? JSON.errorBody(message)
                    return Response(status: 403, headers: [("Content-Type", MediaType.json), ("Cache-Control", "no-store")], body: body)
                }
                return failure(403, message, json: false, request: request, source: exchange.source, viewer: principal)
            }
            exchange.principal = principal
            if let renewed { exchange.renewedCookie = try? sessionCookie(renewed) }
        }
        // Over plain HTTP (where HTTPS is on) nothing but the health check and another blade's
        // member credential: a password, a session or a token must never travel in clear.
        if access.httpsPort != 0 && !request.secure && route != .healthActive && exchange.principal != Self.memberPrincipal
            && exchange.principal != Self.sitePrincipal {
            return failure(403, "use HTTPS", json: route.answersJSON, request: request)
        }
        // Writes with the session cookie (or none: logging in) must come from this chassis' own
        // pages: a page elsewhere cannot make an operator's browser change anything. Bearer
        // tokens are not sent by browsers on their own, so their writes need no Origin.
        // Neither are a Redfish client's X-Auth-Token (a header a page elsewhere cannot send without
        // a CORS preflight, which nothing here grants) nor its JSON login.
        let redfishClient = request.header("X-Auth-Token") != nil
            || (route == .redfishSessions && request.header("Content-Type")?.lowercased().hasPrefix("application/json") == true)
        if request.method != "GET" && request.method != "HEAD" && exchange.principal?.tokenID == nil && !redfishClient {
            guard let origin = request.header("Origin") else {
                return failure(403, "a write from a browser must carry an Origin header", json: route.answersJSON, request: request)
            }
            // A site ticket comes from a page of another chassis of the site.
            let fromSite = route == .siteTransfer && (site?.origins.contains(origin) ?? false)
            guard fromSite || originAllowed(origin, source: exchange.source) else {
                return failure(403, "writes are accepted only from this chassis' own pages (not from \(origin.prefix(100)))",
                               json: route.answersJSON, request: request)
            }
        }
        return nil
    }

    /// The snapshot as this exchange's caller may see it.
    func scope(_ exchange: Exchange) -> AccessScope? { exchange.principal?.scope }
}

struct ForbiddenDocument: Encodable {
    var error: String
    var required: [String]
    var role: String
}
