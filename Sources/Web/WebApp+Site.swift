import Access
import Control
import Foundation
import Model

/// The site: the other chassis of a data center, each its own cluster with its own address.
/// - `GET /api/v1/site/summary`: what this chassis tells another chassis of the site, sealed for
///   it (its `Chassis-Site` credential; any blade answers, saying whether it is the active one).
/// - `GET /site` and `GET /api/v1/site`: every chassis of the site with its health, alerts,
///   active manager, and since when one has not answered (the staff).
/// - `POST /site/open`: a ticket that carries the caller's login to another chassis, posted there
///   by the page it answers; `POST /session/site` on that chassis redeems it.
extension WebApp {
    /// The principal of another chassis of the site, which may read the summary and nothing else.
    static let sitePrincipal = Principal(user: "chassis-site", role: .viewer, scope: nil, tokenID: "site")

    static func isSiteRequest(_ request: Request) -> Bool {
        request.header("Authorization")?.hasPrefix(SiteCredential.scheme + " ") ?? false
    }

    /// The credential of a `Chassis-Site` request, if it is valid here (the edge asks, once a request).
    func siteCredential(_ request: Request) -> SiteCredential? {
        guard let site, let header = request.header("Authorization"), let keys = try? site.siteKeys() else { return nil }
        return SiteCredential.verify(String(header.dropFirst(SiteCredential.scheme.count + 1)), keys: keys, now: Int64(now()))
    }

    func apiSiteSummary(_ exchange: Exchange) throws -> Response {
        guard let site, let credential = exchange.siteCredential else {
            throw HTTPError(403, "the site summary is for the other chassis of the site (a Chassis-Site credential)")
        }
        let current = try current(exchange)
        let local = try exchange.source.local()
        let activeName = (try? exchange.source.cluster())?.active?.name
        let summary = SiteSummary.of(current.snapshot, local: local, activeName: activeName, stale: current.stale)
        let sealed = try SiteSeal.seal(try JSON.encode(summary), keys: try site.siteKeys(), for: credential,
                                       answeredBy: local.blade)
        return try json(SiteEnvelope(answeredBy: local.blade, sealed: sealed))
    }

    /// This chassis' own row, from its own state.
    func ownSiteRow(_ exchange: Exchange) throws -> SiteRowDocument {
        let current = try current(exchange)
        let local = try exchange.local ?? exchange.source.local()
        let activeName = (try? exchange.source.cluster())?.active?.name
        let summary = SiteSummary.of(current.snapshot, local: local, activeName: activeName, stale: current.stale)
        return SiteRowDocument(name: summary.name, own: true, reachable: true, summary: summary, lastAnswerAt: now(),
                               unreachableSince: nil, problem: nil, checkedAt: now())
    }

    func siteDocument(_ exchange: Exchange) throws -> SiteDocument {
        guard let site else { throw HTTPError(404, "this chassis lists no other chassis of its site ([[site_chassis]])") }
        let own = try ownSiteRow(exchange)
        let others = site.current().map { state in
            SiteRowDocument(name: state.name, own: false, reachable: state.reachable, summary: state.summary,
                            lastAnswerAt: state.lastAnswerAt, unreachableSince: state.unreachableSince, problem: state.problem,
                            checkedAt: state.checkedAt)
        }
        return SiteDocument(site: site.siteName.isEmpty ? "Site" : site.siteName, generatedAt: now(), chassis: [own] + others)
    }

    func apiSite(_ exchange: Exchange) throws -> Response {
        try json(try siteDocument(exchange), cacheControl: "no-store")
    }

    func sitePage(_ exchange: Exchange) throws -> Response {
        let document = try siteDocument(exchange)
        let current = try current(exchange)
        var view = basePage(title: "\(document.site) — Chassis Manager", page: "site", snapshot: current.snapshot,
                            stale: current.stale, local: exchange.local, request: exchange.request, viewer: exchange.principal)
        view.pollURL = "/api/v1/site"
        view.site = SitePageView(name: document.site, rows: document.chassis.map { SiteRowView($0, now: now()) })
        return try page(view, template: "site", source: exchange.source)
    }

    /// The caller follows a link to another chassis: a ticket for it, in a page that posts it there.
    func siteOpen(_ exchange: Exchange) throws -> Response {
        guard let site, let principal = exchange.principal else { throw HTTPError(404, "this chassis has no site") }
        guard principal.session != nil else { throw HTTPError(403, "a site ticket is for a browser's session, not a token") }
        let fields: [String: String]
        do { fields = try Validation.formFields(exchange.request.body) } catch { throw HTTPError(400, "\(error)") }
        guard let name = fields["chassis"], let state = site.state(of: name) else {
            throw HTTPError(404, "no chassis of this site is called \"\((fields["chassis"] ?? "").prefix(64))\"")
        }
        guard state.reachable, let summary = state.summary, let base = summary.activeURL.map(RedirectRule.normalisedBase),
              RedirectRule.isSafeBaseURL(base), !base.contains(";"), !base.contains(",") else {
            throw HTTPError(503, "\(name) has no active manager to go to (\(state.problem ?? "it has not answered yet"))")
        }
        var random = SystemRandomNumberGenerator()
        let ticket = SiteTicket.make(from: site.chassisID, to: summary.chassisID, user: principal.user, now: now(), using: &random)
        var view = basePage(title: "To \(summary.name) — Chassis Manager", page: "site-open", snapshot: nil, stale: false,
                            local: exchange.local, request: exchange.request, viewer: principal)
        view.siteOpen = SiteOpenView(name: summary.name, action: base + "/session/site",
                                     ticket: ticket.encode(keys: try site.siteKeys()))
        // The form may go to the other chassis (and nowhere else), and must say where it comes
        // from: the other chassis accepts a ticket only from a page of its site.
        return try page(view, template: "site_open", source: exchange.source, reaching: [base], referrer: "origin")
    }

    /// Another chassis of the site posts a person's ticket here: a session for this chassis' own
    /// user of that name, with this chassis' role and scope for it, and the page goes on to `/`.
    func siteTransfer(_ exchange: Exchange) throws -> Response {
        let fields: [String: String]
        do { fields = try Validation.formFields(exchange.request.body) } catch { throw HTTPError(400, "\(error)") }
        let time = now()
        guard let site, let text = fields["ticket"],
              let ticket = SiteTicket.redeemable(text, keys: try site.siteKeys(), chassisID: site.chassisID, now: time),
              state.redeem(ticketID: "site-" + ticket.id, expiresAt: ticket.expiresAt, now: Int64(time)) else {
            return Self.loginRedirect(next: "/")
        }
        let accessState = try state.snapshot(source: exchange.source)
        guard let record = accessState.users[ticket.user] else {
            return try loginPage(exchange, next: "/", message: "There is no user \(ticket.user) on this chassis: log in with one of its own.",
                                 status: 403)
        }
        let address = exchange.request.remoteAddress
        let reply: ControlResponse
        do {
            reply = try control.send(.recordLogin(user: record.name, address: address, success: true),
                                     actor: Actor(user: record.name, role: record.role, address: address, via: "site:\(ticket.from)"))
        } catch {
            throw HTTPError(503, "the login cannot be recorded now (the engine did not answer): try again")
        }
        guard reply.ok else { throw HTTPError(503, "the login cannot be recorded now (\(reply.error ?? "no quorum")): try again") }
        state.invalidate()
        var random = SystemRandomNumberGenerator()
        let session = Authenticator(policy: access.policy, key: try state.key(access)).start(user: record, now: time, using: &random)
        return try transferPage(session, next: "/", exchange: exchange)
    }
}

struct SiteEnvelope: Codable {
    var answeredBy: String
    var sealed: String
}

struct SiteDocument: Encodable {
    var site: String
    var generatedAt: Double
    var chassis: [SiteRowDocument]
}

struct SiteRowDocument: Encodable {
    var name: String
    /// The chassis this page is served by.
    var own: Bool
    var reachable: Bool
    var summary: SiteSummary?
    var lastAnswerAt: Double?
    var unreachableSince: Double?
    var problem: String?
    var checkedAt: Double?
}

struct SitePageView {
    var name: String
    var rows: [SiteRowView]
}

struct SiteRowView {
    var name: String
    var own: Bool
    var reachable: Bool
    var status: String
    var statusLabel: String
    var location: String
    var blades: String
    var alerts: String
    var active: String
    var state: String
    var canOpen: Bool

    init(_ row: SiteRowDocument, now: Double) {
        name = row.name
        own = row.own
        reachable = row.reachable
        let summary = row.summary
        status = row.reachable ? (summary?.status.rawValue ?? "unknown") : "unreachable"
        statusLabel = row.reachable ? (summary.map { $0.status == .ok ? "OK" : $0.status.rawValue.capitalized } ?? "Unknown") : "Unreachable"
        location = summary?.location ?? ""
        blades = summary.map { "\($0.bladesUp) up, \($0.bladesDown) down, \($0.slots) slots" } ?? "—"
        alerts = summary.map { "\($0.alertsCritical) critical, \($0.alertsWarning) warning, \($0.alertsNew) new" } ?? "—"
        active = summary.map { summary in
            summary.activeManager.map { "\($0) (\(summary.activeAddress ?? "?"))" } ?? "none"
        } ?? "—"
        if row.own {
            state = "this chassis"
        } else if row.reachable {
            state = "answered " + (row.lastAnswerAt.map { Format.time($0) } ?? "")
        } else if let since = row.unreachableSince {
            state = "unreachable since \(Format.time(since))" + (row.problem.map { ": \($0)" } ?? "")
        } else {
            state = "not asked yet"
        }
        canOpen = !row.own && row.reachable && summary?.activeURL != nil
    }
}

struct SiteOpenView {
    var name: String
    var action: String
    var ticket: String
}
