import Access
import Control
import Foundation
import Model

/// Logging in and out, and carrying a session to the blade that takes over.
extension WebApp {
    enum LoginOutcome {
        case success(UserRecord, SessionToken)
        case failed
        case throttled(LoginThrottle.Verdict)
    }

    /// Checks a login against the throttle and the password, and records it in the replicated
    /// log (the audit log and the throttle's counters) before it counts: a login that cannot be
    /// recorded does not succeed.
    func attemptLogin(user name: String, password: String, exchange: Exchange) throws -> LoginOutcome {
        guard !name.isEmpty, name.utf8.count <= ControlValidation.userNameBytesMax,
              !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw HTTPError(400, "user must be 1 to \(ControlValidation.userNameBytesMax) bytes without control characters")
        }
        guard password.utf8.count <= PasswordHash.passwordBytesMax else {
            throw HTTPError(400, "password is longer than \(PasswordHash.passwordBytesMax) bytes")
        }
        let address = exchange.request.remoteAddress
        let accessState = try state.snapshot(source: exchange.source)
        let time = now()
        let verdict = LoginThrottle.stricter(
            LoginThrottle.verdict(accessState.loginFailures[LoginFailures.userKey(name)], now: time),
            LoginThrottle.verdict(accessState.loginFailures[LoginFailures.addressKey(address)], now: time))
        if verdict != .allowed { return .throttled(verdict) }
        let record = accessState.users[name]
        // An unknown name costs the same hash as a known one.
        let matches = PasswordHash.verify(password: password, stored: record?.passwordHash ?? PasswordHash.decoy)
        let success = matches && record != nil
        let actor = Actor(user: name, role: record?.role, address: address, via: "login")
        let reply: ControlResponse
        do {
            reply = try control.send(.recordLogin(user: name, address: address, success: success), actor: actor)
        } catch {
            throw HTTPError(503, "the login cannot be recorded now (the engine did not answer): try again")
        }
        if reply.ok { state.invalidate() }
        if success {
            guard reply.ok, let record else { throw HTTPError(503, "the login cannot be recorded now (\(reply.error ?? "no quorum")): try again") }
            var random = SystemRandomNumberGenerator()
            let session = Authenticator(policy: access.policy, key: try state.key(access)).start(user: record, now: time, using: &random)
            return .success(record, session)
        }
        return .failed
    }

    static func retryAfter(_ verdict: LoginThrottle.Verdict, now: Double) -> Int {
        switch verdict {
        case .allowed: return 0
        case .wait(let seconds): return max(1, Int(seconds.rounded(.up)))
        case .locked(let until): return max(1, Int((until - now).rounded(.up)))
        }
    }

    static func throttledMessage(_ verdict: LoginThrottle.Verdict, now: Double) -> String {
        if case .locked(let until) = verdict {
            return "Too many failed logins: locked until \(Format.time(until)) (an admin can lift the lock)."
        }
        return "Too many failed logins: try again in \(retryAfter(verdict, now: now)) s."
    }

    // MARK: The form

    func login(_ exchange: Exchange) throws -> Response {
        let next = Self.safeNext(exchange.values("next").first ?? "/")
        if exchange.request.method != "POST" {
            if exchange.principal != nil { return Self.seeOther(next) }
            return try loginPage(exchange, next: next, message: exchange.endedSession ? "Your session ended: log in again." : nil,
                                 status: 200)
        }
        let fields: [String: String]
        do { fields = try Validation.formFields(exchange.request.body) } catch { throw HTTPError(400, "\(error)") }
        let target = Self.safeNext(fields["next"] ?? next)
        switch try attemptLogin(user: fields["user"] ?? "", password: fields["password"] ?? "", exchange: exchange) {
        case .success(_, let session):
            var response = Self.seeOther(target)
            response.headers.append(("Set-Cookie", try sessionCookie(session)))
            return response
        case .failed:
            return try loginPage(exchange, next: target, message: "Wrong user name or password.", status: 401)
        case .throttled(let verdict):
            var response = try loginPage(exchange, next: target, message: Self.throttledMessage(verdict, now: now()), status: 429)
            response.setHeader("Retry-After", String(Self.retryAfter(verdict, now: now())))
            return response
        }
    }

    func loginPage(_ exchange: Exchange, next: String, message: String?, status: Int) throws -> Response {
        var view = basePage(title: "Log in — Chassis Manager", page: "login", snapshot: nil, stale: false, local: nil,
                            request: exchange.request, viewer: nil)
        view.login = LoginView(next: next, message: message)
        var response = try page(view, template: "login", source: exchange.source)
        response.status = status
        return response
    }

    func logout(_ exchange: Exchange) throws -> Response {
        try endSession(exchange)
        var response = Self.seeOther("/login")
        response.headers.append(("Set-Cookie", Self.clearedCookie))
        return response
    }

    /// Ends the caller's session on every blade (a replicated command), if it came with one.
    func endSession(_ exchange: Exchange) throws {
        guard let principal = exchange.principal, let session = principal.session else { return }
        let until = Double(session.startedAt + access.policy.lifetimeSeconds)
        let reply: ControlResponse
        do {
            reply = try control.send(.endSession(id: session.id, user: principal.user, until: until),
                                     actor: principal.actor(address: exchange.request.remoteAddress))
        } catch {
            throw HTTPError(503, "the logout cannot be recorded now (the engine did not answer): try again")
        }
        guard reply.ok else { throw HTTPError(503, "the logout cannot be recorded now: \(reply.error ?? "no quorum")") }
        state.invalidate()
    }

    // MARK: JSON

    /// `POST` logs in (`{"user": …, "password": …}`), `GET` says who is logged in and where the
    /// other blades are (the open page's failover), `DELETE` logs out.
    func apiSession(_ exchange: Exchange) throws -> Response {
        switch exchange.request.method {
        case "POST":
            let input = try decode(LoginInput.self, exchange)
            switch try attemptLogin(user: input.user, password: input.password, exchange: exchange) {
            case .success(let user, let session):
                var response = try json(sessionDocument(user: user.name, role: user.role, scope: user.scope, session: session,
                                                        exchange: exchange))
                response.headers.append(("Set-Cookie", try sessionCookie(session)))
                return response
            case .failed:
                var response = failure(401, "wrong user name or password", json: true, request: exchange.request)
                response.setHeader("WWW-Authenticate", "Bearer realm=\"chassis\"")
                return response
            case .throttled(let verdict):
                var response = failure(429, Self.throttledMessage(verdict, now: now()), json: true, request: exchange.request)
                response.setHeader("Retry-After", String(Self.retryAfter(verdict, now: now())))
                return response
            }
        case "DELETE":
            try endSession(exchange)
            var response = try json(WriteResultDocument(ok: true, id: nil))
            response.headers.append(("Set-Cookie", Self.clearedCookie))
            return response
        default:
            guard let principal = exchange.principal else { throw HTTPError(401, "log in first") }
            return try json(sessionDocument(user: principal.user, role: principal.role, scope: principal.scope,
                                            session: principal.session, exchange: exchange))
        }
    }

    func sessionDocument(user: String, role: Role, scope: AccessScope?, session: SessionToken?, exchange: Exchange) throws -> SessionDocument {
        // Where the page may move when the active manager changes (for a customer, the chassis'
        // names only: never another slot's blade address).
        let members = failoverOrigins(source: exchange.source, customer: role == .customer)
        return SessionDocument(
            user: user, role: role.rawValue, slots: scope?.slots, chassis: scope?.chassisID,
            startedAt: session.map { Double($0.startedAt) },
            expiresAt: session.map { Double($0.startedAt + access.policy.lifetimeSeconds) },
            idleSeconds: session == nil ? nil : Int(access.policy.idleSeconds), members: members)
    }

    // MARK: Across a failover

    /// A short-lived, single-use ticket for the page's own session, which the page keeps in
    /// memory and posts (in a form body) to the next active manager if this one fails.
    func apiSessionTicket(_ exchange: Exchange) throws -> Response {
        guard let principal = exchange.principal, let session = principal.session else {
            throw HTTPError(403, "a transfer ticket is for a browser's session, not a token")
        }
        var random = SystemRandomNumberGenerator()
        let authenticator = Authenticator(policy: access.policy, key: try state.key(access))
        let ticket = authenticator.ticket(for: session, now: now(), using: &random)
        return try json(TicketDocument(ticket: ticket.encode(key: try state.key(access)), expiresAt: Double(ticket.expiresAt)))
    }

    /// A page from another blade's origin posts its ticket here (a top-level form post, so that
    /// the browser stores the cookie this answer sets); the answer is a page whose script goes on
    /// to `next`, a request that then carries the cookie.
    func sessionTransfer(_ exchange: Exchange) throws -> Response {
        let fields: [String: String]
        do { fields = try Validation.formFields(exchange.request.body) } catch { throw HTTPError(400, "\(error)") }
        let next = Self.safeNext(fields["next"] ?? "/")
        let time = now()
        let authenticator = Authenticator(policy: access.policy, key: try state.key(access))
        guard let text = fields["ticket"], let ticket = authenticator.redeem(text, now: time) else {
            return Self.loginRedirect(next: next)
        }
        // The ticket was made by a page in use (its 90 s bound the idle time); the session's
        // lifetime still counts from its login.
        var session = ticket.session
        session.renewedAt = Int64(time.rounded(.down))
        let accessState = try state.snapshot(source: exchange.source)
        guard case .authenticated = authenticator.check(session, access: accessState, now: time),
              state.redeem(ticketID: ticket.id, expiresAt: ticket.expiresAt, now: Int64(time)) else {
            return Self.loginRedirect(next: next)
        }
        return try transferPage(session, next: next, exchange: exchange)
    }

    /// The page that sets the session's cookie here and whose script goes on to `next` (a
    /// request that then carries the cookie): the end of a transfer from another blade or chassis.
    func transferPage(_ session: SessionToken, next: String, exchange: Exchange) throws -> Response {
        var view = basePage(title: "Chassis Manager", page: "transfer", snapshot: nil, stale: false, local: nil,
                            request: exchange.request, viewer: nil)
        view.transfer = TransferView(next: next)
        var response = try page(view, template: "transfer", source: exchange.source)
        response.headers.append(("Set-Cookie", try sessionCookie(session)))
        return response
    }

    static func loginRedirect(next: String) -> Response {
        let location = "/login?next=" + URLCoding.encodeComponent(next)
        return Response(status: 303, headers: [("Location", location), ("Cache-Control", "no-store")])
    }

    static func seeOther(_ location: String) -> Response {
        Response(status: 303, headers: [("Location", location), ("Cache-Control", "no-store")])
    }
}

struct SessionDocument: Encodable {
    var user: String
    var role: String
    var slots: [Int]?
    var chassis: String?
    var startedAt: Double?
    var expiresAt: Double?
    var idleSeconds: Int?
    var members: [String]
}

struct TicketDocument: Encodable {
    var ticket: String
    var expiresAt: Double
}

struct LoginView {
    var next: String
    var message: String?
}

struct TransferView {
    var next: String
}
