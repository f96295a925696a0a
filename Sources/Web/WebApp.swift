import Foundation
import Access
import Control
import Model

/// The web application: a pure function of a request and the blade's state, plus writes sent to
/// the engine. One instance is shared by every worker thread; each thread passes its own
/// `StateSource` (SQLite connections belong to one thread).
public final class WebApp: Sendable {
    public let limits: WebLimits
    let templates: TemplateSet
    let control: ControlSending
    let now: @Sendable () -> Double
    let cache = SnapshotCache()
    let access: AccessSettings
    let state = AccessState()
    /// This blade's configured sampling intervals, shown where the chassis has set none.
    let defaultIntervalsMs: [SamplingGroup: Int]
    /// The other chassis of the site, when the configuration lists any.
    let site: SiteBoard?

    public init(templates: TemplateSet, limits: WebLimits = WebLimits(), control: ControlSending, access: AccessSettings,
                defaultIntervalsMs: [SamplingGroup: Int] = [:], site: SiteBoard? = nil,
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.site = site
        self.defaultIntervalsMs = defaultIntervalsMs
        self.templates = templates
        self.limits = limits
        self.control = control
        self.access = access
        self.now = now
    }

    /// Answers one request. Never throws: every failure becomes a response.
    public func handle(_ request: Request, source: StateSource) -> Response {
        var response = dispatch(request, source: source)
        return finish(response: &response, request: request)
    }

    /// The answer when no `StateSource` could be opened (the store is missing or unreadable).
    public func storeUnavailable(_ request: Request, reason: String) -> Response {
        let isAPI = request.rawPath.hasPrefix("/api/")
        var response = unavailable(request, reason: "The state store cannot be read: \(reason)", json: isAPI)
        return finish(response: &response, request: request)
    }

    /// Every response, error pages and redirects included, carries the security headers: pages
    /// set their own Content-Security-Policy (it names the other members); everything else gets
    /// one that allows nothing.
    private func finish(response: inout Response, request: Request) -> Response {
        // The app names these headers itself, always spelt so: exact comparisons suffice.
        var nosniff = false, policy = false, referrer = false, transport = false
        for (name, _) in response.headers {
            switch name {
            case "X-Content-Type-Options": nosniff = true
            case "Content-Security-Policy": policy = true
            case "Referrer-Policy": referrer = true
            case "Strict-Transport-Security": transport = true
            default: break
            }
        }
        if !nosniff { response.headers.append(("X-Content-Type-Options", "nosniff")) }
        if !policy {
            response.headers.append(("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"))
        }
        if !referrer { response.headers.append(("Referrer-Policy", "same-origin")) }
        if request.secure && !transport { response.headers.append(("Strict-Transport-Security", "max-age=31536000")) }
        if response.status != 304 { response.setHeader("Content-Length", String(response.body.count)) }
        if request.method == "HEAD" { response.body = [] }
        return response
    }

    // MARK: - Dispatch

    struct Exchange {
        var request: Request
        var route: Route
        var query: [(name: String, value: String)]
        var source: StateSource
        /// This blade's view, when the redirect rule already read it for this request.
        var local: LocalView? = nil
        /// Who is calling, once the edge admitted the request (nil: anonymous).
        var principal: Principal? = nil
        /// A renewed session cookie to send back with the answer.
        var renewedCookie: String? = nil
        /// The request came with a session cookie that has ended.
        var endedSession = false
        /// `/metrics` scraped without a token from a network the operator allowed.
        var anonymousScrape = false
        /// Another chassis of the site's question, once the edge verified it (the summary is sealed for it).
        var siteCredential: SiteCredential? = nil

        func values(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }
    }

    private func dispatch(_ request: Request, source: StateSource) -> Response {
        let isAPI = request.rawPath.hasPrefix("/api/")
        if request.rawTarget.utf8.count > limits.requestURIBytesMax {
            return failure(414, "the request target is longer than \(limits.requestURIBytesMax) bytes", json: isAPI, request: request)
        }
        // Checked against the declared length before anything is read; the App does the same
        // before reading the body from the socket.
        if (request.contentLength ?? 0) > limits.requestBodyBytesMax || request.body.count > limits.requestBodyBytesMax {
            return failure(413, "the request body is larger than \(limits.requestBodyBytesMax) bytes", json: isAPI, request: request)
        }
        let segments: [String]
        do {
            segments = try Route.segments(rawPath: request.rawPath)
        } catch {
            return failure(400, "\(error)", json: isAPI, request: request)
        }
        guard let route = Route.match(segments) else {
            return failure(404, "There is no page at this address.", json: isAPI, request: request, source: source)
        }
        let allowed = route.allowedMethods
        guard allowed.contains(request.method) else {
            var response = failure(405, "\(request.method) is not allowed here; allowed: \(allowed.joined(separator: ", "))",
                                   json: route.answersJSON, request: request)
            response.setHeader("Allow", allowed.joined(separator: ", "))
            return response
        }
        let query: [(name: String, value: String)]
        do {
            query = try URLCoding.parseQuery(request.rawQuery)
        } catch {
            return failure(400, "\(error)", json: route.answersJSON, request: request)
        }
        if let allowed = route.allowedQueryNames, let unknown = query.first(where: { !allowed.contains($0.name) }) {
            return failure(400, "unknown query parameter \"\(unknown.name)\"", json: route.answersJSON, request: request)
        }
        // A request for a name this chassis does not answer to (DNS rebinding) goes no further.
        guard hostAllowed(request, source: source) else {
            return failure(421, "this chassis does not answer to the name \"\(Self.hostName(request.header("Host") ?? "").prefix(100))\"",
                           json: route.answersJSON, request: request)
        }
        var exchange = Exchange(request: request, route: route, query: query, source: source)

        // Another blade's engine reads this blade's own cluster view (join_via), wherever it is.
        if !route.isNeverRedirected && !(route == .apiCluster && Self.isMemberRequest(request)) {
            let local: LocalView
            do {
                local = try source.local()
            } catch {
                return unavailable(request, reason: "The state store cannot be read: \(error)", json: route.answersJSON)
            }
            if !RedirectRule.isActive(local) {
                let cluster = try? source.cluster()
                switch RedirectRule.decide(method: request.method, rawTarget: request.rawTarget, local: local, cluster: cluster) {
                case .serve:
                    break
                case .redirect(let status, let location):
                    return redirect(status: status, location: location, json: route.answersJSON)
                case .unavailable(let reason):
                    return unavailable(request, reason: reason, json: route.answersJSON, local: local)
                }
            }
            exchange.local = local
            return admitted(&exchange, local: local)
        }
        return admitted(&exchange, local: nil)
    }

    private func admitted(_ exchange: inout Exchange, local: LocalView?) -> Response {
        if let refused = admit(&exchange) { return refused }
        var response = serve(exchange, local: local)
        if let cookie = exchange.renewedCookie, response.header("Set-Cookie") == nil {
            response.headers.append(("Set-Cookie", cookie))
        }
        return response
    }

    private func serve(_ exchange: Exchange, local: LocalView?) -> Response {
        do {
            switch exchange.route {
            case .overview: return try overviewPage(exchange, local: local)
            case .modulePage(let chassisID, let slot): return try modulePage(exchange, chassisID: chassisID, slot: slot, local: local)
            case .apiChassis:
                if exchange.request.method == "PATCH" { return try apiSetChassis(exchange) }
                return try apiChassis(exchange)
            case .apiSlot(let chassisID, let slot):
                if exchange.request.method == "GET" || exchange.request.method == "HEAD" {
                    return try apiSlot(exchange, chassisID: chassisID, slot: slot)
                }
                return try apiSetSlot(exchange, chassisID: chassisID, slot: slot)
            case .apiSlotHistory(let chassisID, let slot): return try apiHistory(exchange, chassisID: chassisID, slot: slot)
            case .apiSlotPower(let chassisID, let slot): return try apiSlotPower(exchange, chassisID: chassisID, slot: slot)
            case .redfishService, .redfishSessions, .redfishSession, .redfishManagers, .redfishAccounts, .redfishResource:
                return try redfish(exchange)
            case .apiLocal: return try apiLocal(exchange)
            case .apiCluster: return try apiCluster(exchange)
            case .apiAlerts: return exchange.query.isEmpty ? try apiAlerts(exchange) : try apiAlertLog(exchange)
            case .apiAcknowledge(let alertID): return try apiAcknowledge(exchange, alertID: alertID)
            case .apiThresholds:
                if exchange.request.method == "GET" || exchange.request.method == "HEAD" { return try apiThresholdList(exchange) }
                return try apiSetThreshold(exchange)
            case .apiThreshold(let id): return try apiRemoveThreshold(exchange, id: id)
            case .healthActive: return try healthActive(exchange)
            case .metrics: return try metrics(exchange)
            case .login: return try login(exchange)
            case .logout: return try logout(exchange)
            case .apiSession: return try apiSession(exchange)
            case .apiSessionTicket: return try apiSessionTicket(exchange)
            case .sessionTransfer: return try sessionTransfer(exchange)
            case .apiUsers: return try apiUsers(exchange)
            case .apiUser(let name): return try apiUser(exchange, name: name)
            case .apiTokens: return try apiTokens(exchange)
            case .apiToken(let id): return try apiRevokeToken(exchange, id: id)
            case .apiLoginLocks: return try apiLoginLocks(exchange)
            case .apiLoginLocksLift: return try apiLiftLoginLock(exchange)
            case .apiAudit: return try apiAudit(exchange)
            case .usersPage: return try usersPage(exchange)
            case .auditPage: return try auditPage(exchange)
            case .thresholdsPage: return try thresholdsPage(exchange)
            case .apiIntervals: return try apiIntervals(exchange)
            case .settingsPage: return try settingsPage(exchange)
            case .alertsPage: return try alertsPage(exchange)
            case .apiEvents: return try apiEvents(exchange)
            case .eventsPage: return try eventsPage(exchange)
            case .apiNotifications: return try apiNotifications(exchange)
            case .apiNotificationsTest: return try apiNotificationsTest(exchange)
            case .notificationsPage: return try notificationsPage(exchange)
            case .apiMaintenance: return try apiMaintenance(exchange)
            case .apiMaintenanceWindow(let id): return try apiMaintenanceWindow(exchange, id: id)
            case .managerPage: return try managerPage(exchange)
            case .apiReplication: return try apiReplication(exchange)
            case .apiHandOver: return try apiHandOver(exchange)
            case .apiMembers: return try apiAddMember(exchange)
            case .apiMember(let name): return sendAsCaller(.removeMember(name: name), exchange)
            case .sitePage: return try sitePage(exchange)
            case .apiSite: return try apiSite(exchange)
            case .apiSiteSummary: return try apiSiteSummary(exchange)
            case .siteOpen: return try siteOpen(exchange)
            case .siteTransfer: return try siteTransfer(exchange)
            }
        } catch let error as HTTPError {
            return failure(error.status, error.message, json: exchange.route.answersJSON, request: exchange.request,
                           source: exchange.source, viewer: exchange.principal)
        } catch let error as InputError {
            // A check of the caller's input that no handler turned into its 400: still the caller's.
            return failure(400, error.description, json: exchange.route.answersJSON, request: exchange.request,
                           source: exchange.source, viewer: exchange.principal)
        } catch {
            return unavailable(exchange.request, reason: "The state store cannot be read: \(error)", json: exchange.route.answersJSON)
        }
    }

    // MARK: - State

    struct Current {
        var version: String
        var snapshot: ChassisSnapshot
        var stale: Bool
        var staleSince: Double? { stale ? snapshot.engine.updatedAt : nil }
    }

    /// The cached snapshot as the caller may see it (a customer's slots only), with staleness
    /// judged now: the data version does not change when the engine stops writing, so a cached
    /// snapshot must turn stale by the clock alone.
    func current(_ exchange: Exchange) throws -> Current {
        let source = exchange.source
        var (version, snapshot) = try cache.current(source: source)
        snapshot = CustomerView.project(snapshot, scope: scope(exchange))
        // The engine's heartbeat does not change the data version (it would defeat the cache):
        // its freshness is read anew, so a cached snapshot neither turns stale while the engine
        // runs nor stays fresh once it stops.
        if let fresh = exchange.local?.engine ?? (try? source.local().engine), fresh.updatedAt != nil { snapshot.engine = fresh }
        return Current(version: version, snapshot: snapshot, stale: isStale(snapshot.engine))
    }

    func isStale(_ engine: EngineFreshness) -> Bool {
        guard let updatedAt = engine.updatedAt else { return true }
        return engine.stale || now() - updatedAt > limits.staleAfterSeconds
    }

    // MARK: - Responses

    struct HTTPError: Error {
        var status: Int
        var message: String
        init(_ status: Int, _ message: String) {
            self.status = status
            self.message = message
        }
    }

    func json<T: Encodable>(_ value: T, status: Int = 200, cacheControl: String = "no-store") throws -> Response {
        Response(status: status, headers: [("Content-Type", MediaType.json), ("Cache-Control", cacheControl)],
                 body: try JSON.encode(value))
    }

    /// A polled JSON document: its ETag derives from the data version, the route and the
    /// staleness, so an unchanged document costs a `304` and no encoding.
    func polledJSON(_ exchange: Exchange, current: Current, encode: () throws -> [UInt8]) throws -> Response {
        let view = CustomerView.cacheKey(scope(exchange))
        let etag = ETag.make(dataVersion: current.version, route: view + "\u{0}" + exchange.request.rawTarget, stale: current.stale)
        var headers = [("ETag", etag), ("Cache-Control", "no-cache")]
        headers += corsHeaders(exchange)
        if ETag.matches(ifNoneMatch: exchange.request.header("If-None-Match"), etag: etag) {
            return Response(status: 304, headers: headers)
        }
        let key = view + "\u{0}" + exchange.request.rawTarget + (current.stale ? "\u{0}stale" : "")
        let body = try cache.body(version: current.version, key: key, encode: encode)
        return Response(status: 200, headers: [("Content-Type", MediaType.json)] + headers, body: body)
    }

    /// An error: JSON for the API, else a page that shows the chassis only to a logged-in `viewer`
    /// (as that viewer may see it) and nothing of it to anyone else.
    func failure(_ status: Int, _ message: String, json: Bool, request: Request, source: StateSource? = nil,
                 viewer: Principal? = nil) -> Response {
        if json {
            return Response(status: status, headers: [("Content-Type", MediaType.json), ("Cache-Control", "no-store")],
                            body: JSON.errorBody(message))
        }
        return errorPage(status, message, request: request, source: viewer == nil ? nil : source, viewer: viewer)
    }

    func redirect(status: Int, location: String, json: Bool) -> Response {
        var headers = [("Location", location), ("Cache-Control", "no-store")]
        if json {
            headers.append(("Content-Type", MediaType.json))
            return Response(status: status, headers: headers,
                            body: JSON.errorBody("this blade is not the active manager; see \(location)"))
        }
        headers.append(("Content-Type", MediaType.html))
        let text = "<!DOCTYPE html><title>Moved</title><p>The active manager is at <a href=\"\(htmlEscape(location))\">\(htmlEscape(location))</a>.</p>\n"
        return Response(status: status, headers: headers, body: Array(text.utf8))
    }

    /// `503` with `Retry-After`: a JSON error for the API, else a page that refreshes itself.
    func unavailable(_ request: Request, reason: String, json: Bool, local: LocalView? = nil) -> Response {
        var headers = [("Retry-After", "1"), ("Cache-Control", "no-store")]
        if json {
            headers.append(("Content-Type", MediaType.json))
            return Response(status: 503, headers: headers, body: JSON.errorBody(reason))
        }
        headers.append(("Content-Type", MediaType.html))
        headers += pageSecurityHeaders(source: nil)
        var view = basePage(title: "No active manager", page: "unavailable", snapshot: nil, stale: false, local: local,
                            request: request, viewer: nil)
        view.unavailable = UnavailableView(reason: reason, blade: local.map { "\($0.blade) (\($0.address))" } ?? "this blade",
                                           refreshSeconds: "2")
        let html = templates.render(view, template: "unavailable")
            ?? "<!DOCTYPE html><meta http-equiv=\"refresh\" content=\"2\"><title>Unavailable</title><p>\(htmlEscape(reason))</p>\n"
        return Response(status: 503, headers: headers, body: Array(html.utf8))
    }

    func errorPage(_ status: Int, _ message: String, request: Request, source: StateSource?, viewer: Principal? = nil) -> Response {
        let local = source.flatMap { try? $0.local() }
        let snapshot = source.flatMap { source in
            try? current(Exchange(request: request, route: .overview, query: [], source: source, local: local, principal: viewer))
        }
        var view = basePage(title: "\(status) \(Response.reasonPhrase(status))", page: "error",
                            snapshot: snapshot?.snapshot, stale: snapshot?.stale ?? false, local: local, request: request,
                            viewer: viewer)
        view.error = ErrorView(status: String(status), heading: Response.reasonPhrase(status), message: message)
        let html = templates.render(view, template: "error")
            ?? "<!DOCTYPE html><title>\(status)</title><p>\(htmlEscape(message))</p>\n"
        return Response(status: status, headers: [("Content-Type", MediaType.html), ("Cache-Control", "no-store")]
                        + pageSecurityHeaders(source: nil), body: Array(html.utf8))
    }

    /// - Parameters:
    ///   - reaching: the origins the page may reach besides its own, when they are not the ones
    ///     it moves to on a failover (a page that sends the browser to another chassis).
    ///   - referrer: the page's Referrer-Policy, when it is not `same-origin`.
    func page(_ view: PageView, template: String, source: StateSource, reaching: [String]? = nil,
              referrer: String = "same-origin") throws -> Response {
        guard let html = templates.render(view, template: template) else {
            throw HTTPError(500, "template \(template) is missing")
        }
        return Response(status: 200, headers: [("Content-Type", MediaType.html), ("Cache-Control", "no-store")]
                        + pageSecurityHeaders(source: source, customer: view.user?.role == Role.customer.rawValue,
                                              reaching: reaching, referrer: referrer),
                        body: Array(html.utf8))
    }

    /// Where an open page may move when the active manager changes: the members' addresses, or
    /// for a customer only the chassis' configured names (a blade's address is another slot's,
    /// so a customer's page follows a failover only through a name or a virtual address).
    func failoverOrigins(source: StateSource?, customer: Bool) -> [String] {
        if customer { return access.hostNames.map { access.origin(host: $0.lowercased()) }.sorted() }
        return ((source.flatMap { try? $0.cluster() })?.members ?? []).filter { $0.role != .witness }
            .map { RedirectRule.normalisedBase($0.url) }
            .filter { RedirectRule.isSafeBaseURL($0) && !$0.contains(";") && !$0.contains(",") }.sorted()
    }

    /// A page's policy: its own style sheet and script, and scripts and forms that may reach the
    /// places it may move to (failover), and nothing else.
    func pageSecurityHeaders(source: StateSource?, customer: Bool = false, reaching: [String]? = nil,
                             referrer: String = "same-origin") -> [(String, String)] {
        let members = reaching ?? failoverOrigins(source: source, customer: customer)
        let others = members.isEmpty ? "" : " " + members.joined(separator: " ")
        return [
            ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; connect-src 'self'\(others); form-action 'self'\(others)"),
            ("Referrer-Policy", referrer),
        ]
    }

    // MARK: - Cross-origin reads between blades

    /// A page served by one blade may read another member's API while it looks for the new active
    /// manager: GET responses allow the origin of a configured member, and no one else.
    func corsHeaders(_ exchange: Exchange) -> [(String, String)] {
        guard let origin = exchange.request.header("Origin"), !isSameOrigin(origin, exchange.request) else { return [] }
        guard let cluster = try? exchange.source.cluster() else { return [] }
        if cluster.members.contains(where: { RedirectRule.normalisedBase($0.url) == origin }) {
            return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        }
        return [("Vary", "Origin")]
    }

    func isSameOrigin(_ origin: String, _ request: Request) -> Bool {
        guard let host = request.header("Host") else { return false }
        return origin == "http://" + host || origin == "https://" + host
    }
}

/// Escapes text for HTML where a template is not used (fallback pages only).
func htmlEscape(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "&": out += "&amp;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}
