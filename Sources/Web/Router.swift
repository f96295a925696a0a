import Access

/// Every dynamic route of the application. Static files are nginx's.
public enum Route: Equatable, Sendable {
    case overview
    case modulePage(chassisID: String, slot: String)
    case apiChassis
    case apiSlot(chassisID: String, slot: String)
    case apiSlotHistory(chassisID: String, slot: String)
    /// Power and identify of a slot (POST `{"action"}`): operators and admins, never a customer.
    case apiSlotPower(chassisID: String, slot: String)
    case apiLocal
    case apiCluster
    case apiAlerts
    case apiAcknowledge(alertID: String)
    case apiThresholds
    case apiThreshold(id: String)
    case healthActive
    case metrics
    /// The login form (GET) and its post (POST).
    case login
    /// The logout button's post.
    case logout
    /// Log in with JSON (POST), who am I (GET), log out (DELETE).
    case apiSession
    /// A transfer ticket for the open page to carry its session to another blade (POST).
    case apiSessionTicket
    /// A ticket posted by a page from another blade's origin: starts the session here (POST).
    case sessionTransfer
    case apiUsers
    case apiUser(name: String)
    case apiTokens
    case apiToken(id: String)
    case apiLoginLocks
    case apiLoginLocksLift
    case apiAudit
    /// The admins' pages: users, tokens and locks; the audit log.
    case usersPage
    case auditPage
    /// Every threshold rule, and (for operators) forms to add, change and remove them.
    case thresholdsPage
    /// The sampling interval of every group (GET), changed by operators (PATCH).
    case apiIntervals
    /// The chassis' name and location and the intervals, with forms for operators.
    case settingsPage
    /// The alert log: every alert, open and closed, with filters and exports.
    case alertsPage
    /// The event log (alerts raised, acknowledged and cleared, modules, members), filtered, paged, exported.
    case apiEvents
    case eventsPage
    /// Where notifications go (GET), set by admins (PUT); a test message to every target (POST).
    case apiNotifications
    case apiNotificationsTest
    /// The notification targets, their delivery, and for admins an editor and a test button.
    case notificationsPage
    /// Maintenance windows that have not ended (GET, a customer its slots' and the chassis'),
    /// scheduled by operators (POST); one cancelled (DELETE).
    case apiMaintenance
    case apiMaintenanceWindow(id: String)
    /// The managers: every member, its role and last word, the term, quorum and lease; for
    /// admins, hand-over and membership forms.
    case managerPage
    /// Asks the active manager to hand over (POST `{"to"}`, optional).
    case apiHandOver
    /// Adds a member (POST); removes one (DELETE).
    case apiMembers
    case apiMember(name: String)
    /// The replication policy (Table I): every group's class, mode, interval and members (GET);
    /// the members a group goes to, changed by operators (PATCH).
    case apiReplication
    /// Redfish (DMTF, `/redfish/v1`): the service root, its OData service document and
    /// `$metadata`, readable without credentials as Redfish requires.
    case redfishService
    /// Redfish sessions: POST logs in (anyone, JSON only), GET lists the caller's own.
    case redfishSessions
    /// One Redfish session: the caller's own (GET), its logout (DELETE).
    case redfishSession(id: String)
    /// Each blade as a Redfish manager, with its role: the staff.
    case redfishManagers
    /// Redfish accounts: admins.
    case redfishAccounts
    /// Every other Redfish resource (chassis, blades, sensors, power, cooling, the session
    /// service): every user, a customer its own blades only.
    case redfishResource
    /// The site: every chassis of it with its health (the staff), as a page and as JSON.
    case sitePage
    case apiSite
    /// What this chassis tells another chassis of its site: its `Chassis-Site` credential only.
    case apiSiteSummary
    /// A ticket that carries the caller's login to another chassis of the site (POST, the staff).
    case siteOpen
    /// A site ticket posted from another chassis' page: starts a session here (POST).
    case siteTransfer

    /// Methods the route answers; anything else gets `405` with these in `Allow`.
    public var allowedMethods: [String] {
        switch self {
        case .overview, .apiSlotHistory, .apiLocal, .apiCluster, .apiAlerts,
             .healthActive, .metrics, .apiLoginLocks, .apiAudit, .auditPage, .alertsPage, .apiEvents, .eventsPage:
            return ["GET", "HEAD"]
        case .apiNotifications: return ["GET", "HEAD", "PUT"]
        case .apiMaintenance: return ["GET", "HEAD", "POST"]
        case .apiMaintenanceWindow, .apiMember: return ["DELETE"]
        case .managerPage: return ["GET", "HEAD", "POST"]
        case .apiHandOver, .apiMembers, .apiSlotPower: return ["POST"]
        case .apiNotificationsTest: return ["POST"]
        case .apiChassis, .apiIntervals, .apiReplication: return ["GET", "HEAD", "PATCH"]
        case .apiSlot: return ["GET", "HEAD", "PATCH", "POST"]
        case .apiAcknowledge, .logout, .apiSessionTicket, .sessionTransfer, .apiLoginLocksLift: return ["POST"]
        case .apiThresholds: return ["GET", "HEAD", "PUT", "POST"]
        case .apiThreshold, .apiToken: return ["DELETE"]
        case .login, .usersPage, .apiUsers, .apiTokens, .thresholdsPage, .settingsPage, .modulePage, .notificationsPage:
            return ["GET", "HEAD", "POST"]
        case .apiSession: return ["GET", "HEAD", "POST", "DELETE"]
        case .apiUser: return ["PATCH", "DELETE"]
        case .redfishService, .redfishManagers, .redfishAccounts, .redfishResource: return ["GET", "HEAD"]
        case .redfishSessions: return ["GET", "HEAD", "POST"]
        case .redfishSession: return ["GET", "HEAD", "DELETE"]
        case .sitePage, .apiSite, .apiSiteSummary: return ["GET", "HEAD"]
        case .siteOpen, .siteTransfer: return ["POST"]
        }
    }

    /// Who may call the route with `method`: declared here, with the route, and checked at the
    /// web edge before any handler runs. A route added without a rule does not compile, and the
    /// table test of every route and role (`AccessTableTests`) gains its rows from `examples`.
    public func rule(method: String) -> AccessRule {
        let reads = method == "GET" || method == "HEAD"
        switch self {
        case .healthActive, .login, .sessionTransfer, .siteTransfer:
            return .anonymous
        case .sitePage, .apiSite, .siteOpen:
            return .staff
        case .apiSiteSummary:
            return .site
        case .apiSession:
            // Logging in is for anyone; who-am-I and logging out need a session.
            return method == "POST" ? .anonymous : .anyUser
        case .overview, .apiSlotHistory, .apiAlerts, .metrics, .logout, .apiSessionTicket, .alertsPage, .apiEvents, .eventsPage:
            // A customer reads the events of its own slots only.
            return .anyUser
        case .apiNotifications, .notificationsPage:
            // The staff see where word goes; only admins change it (a hook is a command the engine runs).
            return reads ? .staff : .administer
        case .apiNotificationsTest:
            return .administer
        case .apiMaintenance:
            return reads ? .anyUser : .operate
        case .apiMaintenanceWindow, .apiSlotPower:
            return .operate
        case .managerPage:
            return reads ? .staff : .administer
        case .apiHandOver, .apiMembers, .apiMember:
            return .administer
        case .modulePage:
            // Everyone reads a slot they may see; operators name it and set its module type.
            return reads ? .anyUser : .operate
        case .apiChassis:
            // Everyone reads the chassis (a customer its slots); operators rename it.
            return reads ? .anyUser : .operate
        case .apiSlot:
            return reads ? .anyUser : .operate
        case .apiLocal, .apiCluster:
            return .staff
        case .apiThresholds, .thresholdsPage, .apiIntervals, .settingsPage, .apiReplication:
            // Every rule is read by the staff (a rule names any slot); changed by operators.
            return reads ? .staff : .operate
        case .apiAcknowledge, .apiThreshold:
            return .operate
        case .apiUsers, .apiUser, .apiTokens, .apiToken, .apiLoginLocks, .apiLoginLocksLift, .apiAudit, .usersPage, .auditPage:
            return .administer
        case .redfishService:
            return .anonymous
        case .redfishSessions:
            return method == "POST" ? .anonymous : .anyUser
        case .redfishSession, .redfishResource:
            return .anyUser
        case .redfishManagers:
            return .staff
        case .redfishAccounts:
            return .administer
        }
    }

    /// One request target per route, for the table tests (every case must appear).
    public static let examples: [(route: Route, target: String)] = [
        (.overview, "/"),
        (.modulePage(chassisID: "660007770088", slot: "1"), "/chassis/660007770088/slots/1"),
        (.apiChassis, "/api/v1/chassis"),
        (.apiSlot(chassisID: "660007770088", slot: "1"), "/api/v1/chassis/660007770088/slots/1"),
        (.apiSlotHistory(chassisID: "660007770088", slot: "1"), "/api/v1/chassis/660007770088/slots/1/history?key=cpu.usage"),
        (.apiSlotPower(chassisID: "660007770088", slot: "1"), "/api/v1/chassis/660007770088/slots/1/power"),
        (.apiLocal, "/api/v1/local"),
        (.apiCluster, "/api/v1/cluster"),
        (.apiAlerts, "/api/v1/alerts"),
        (.apiAcknowledge(alertID: "1"), "/api/v1/alerts/1/acknowledge"),
        (.apiThresholds, "/api/v1/thresholds"),
        (.apiThreshold(id: "1"), "/api/v1/thresholds/1"),
        (.healthActive, "/health/active"),
        (.metrics, "/metrics"),
        (.login, "/login"),
        (.logout, "/logout"),
        (.apiSession, "/api/v1/session"),
        (.apiSessionTicket, "/api/v1/session/ticket"),
        (.sessionTransfer, "/session/transfer"),
        (.apiUsers, "/api/v1/users"),
        (.apiUser(name: "alice"), "/api/v1/users/alice"),
        (.apiTokens, "/api/v1/tokens"),
        (.apiToken(id: "0123456789abcdef"), "/api/v1/tokens/0123456789abcdef"),
        (.apiLoginLocks, "/api/v1/login-locks"),
        (.apiLoginLocksLift, "/api/v1/login-locks/lift"),
        (.apiAudit, "/api/v1/audit"),
        (.usersPage, "/users"),
        (.auditPage, "/audit"),
        (.thresholdsPage, "/thresholds"),
        (.apiIntervals, "/api/v1/intervals"),
        (.settingsPage, "/settings"),
        (.alertsPage, "/alerts"),
        (.apiEvents, "/api/v1/events"),
        (.eventsPage, "/events"),
        (.apiNotifications, "/api/v1/notifications"),
        (.apiNotificationsTest, "/api/v1/notifications/test"),
        (.notificationsPage, "/notifications"),
        (.apiMaintenance, "/api/v1/maintenance"),
        (.apiMaintenanceWindow(id: "1"), "/api/v1/maintenance/1"),
        (.managerPage, "/manager"),
        (.apiHandOver, "/api/v1/cluster/handover"),
        (.apiMembers, "/api/v1/cluster/members"),
        (.apiMember(name: "blade9"), "/api/v1/cluster/members/blade9"),
        (.apiReplication, "/api/v1/replication"),
        (.redfishService, "/redfish/v1/"),
        (.redfishSessions, "/redfish/v1/SessionService/Sessions"),
        (.redfishSession(id: "0123456789abcdef0123456789abcdef"), "/redfish/v1/SessionService/Sessions/0123456789abcdef0123456789abcdef"),
        (.redfishManagers, "/redfish/v1/Managers"),
        (.redfishAccounts, "/redfish/v1/AccountService/Accounts"),
        (.redfishResource, "/redfish/v1/Chassis"),
        (.sitePage, "/site"),
        (.apiSite, "/api/v1/site"),
        (.apiSiteSummary, "/api/v1/site/summary"),
        (.siteOpen, "/site/open"),
        (.siteTransfer, "/session/site"),
    ]

    /// Query parameters the route accepts; any other is a `400`. Pages (nil) ignore parameters
    /// they do not use, as a person's bookmarks and links may carry some; the API is strict.
    public var allowedQueryNames: Set<String>? {
        switch self {
        // Redfish clients send OData's query options ($select, $expand, only …): ignored.
        case .overview, .modulePage, .usersPage, .redfishService, .redfishSessions, .redfishSession, .redfishManagers,
             .redfishAccounts, .redfishResource: return nil
        case .apiSlotHistory: return ["key", "seconds"]
        case .login: return ["next"]
        case .apiAudit, .auditPage: return ["actor", "action", "since", "until", "limit", "format"]
        case .apiAlerts, .alertsPage: return WebApp.alertLogQueryNames
        case .apiEvents, .eventsPage: return WebApp.eventLogQueryNames
        default: return []
        }
    }

    /// Routes every blade answers for itself, whatever its role:
    /// - `/api/v1/local`: this blade's own view (DESIGN.md).
    /// - `/health/active`: for load balancers, 200 only on the active manager.
    /// - `/metrics`: Prometheus scrapes every blade on its own; each answers from its own
    ///   replicated store (with `chassis_manager_active` saying whether it is the active one), so
    ///   a scrape never follows a redirect to another target and never loses a blade's series.
    public var isNeverRedirected: Bool {
        switch self {
        case .apiLocal, .healthActive, .metrics, .apiSiteSummary: return true
        default: return false
        }
    }

    /// Whether errors on this route are answered as JSON rather than as an HTML page.
    public var answersJSON: Bool {
        switch self {
        case .overview, .modulePage, .metrics, .healthActive, .login, .logout, .sessionTransfer, .usersPage, .auditPage,
             .thresholdsPage, .settingsPage, .alertsPage, .eventsPage, .notificationsPage, .managerPage, .sitePage, .siteOpen,
             .siteTransfer:
            return false
        default: return true
        }
    }

    /// Matches decoded path segments (`["api", "v1", "chassis"]`).
    public static func match(_ segments: [String]) -> Route? {
        if segments.first == "redfish" { return matchRedfish(Array(segments.dropFirst())) }
        switch segments.count {
        case 0:
            return .overview
        case 1:
            switch segments[0] {
            case "metrics": return .metrics
            case "login": return .login
            case "logout": return .logout
            case "users": return .usersPage
            case "audit": return .auditPage
            case "thresholds": return .thresholdsPage
            case "settings": return .settingsPage
            case "alerts": return .alertsPage
            case "events": return .eventsPage
            case "notifications": return .notificationsPage
            case "manager": return .managerPage
            case "site": return .sitePage
            default: return nil
            }
        case 2:
            if segments == ["health", "active"] { return .healthActive }
            if segments == ["session", "transfer"] { return .sessionTransfer }
            if segments == ["session", "site"] { return .siteTransfer }
            if segments == ["site", "open"] { return .siteOpen }
            return nil
        default:
            break
        }
        if segments.count == 4, segments[0] == "chassis", segments[2] == "slots" {
            return .modulePage(chassisID: segments[1], slot: segments[3])
        }
        guard segments.count >= 3, segments[0] == "api", segments[1] == "v1" else { return nil }
        let rest = Array(segments.dropFirst(2))
        switch rest.count {
        case 1:
            switch rest[0] {
            case "chassis": return .apiChassis
            case "local": return .apiLocal
            case "cluster": return .apiCluster
            case "alerts": return .apiAlerts
            case "thresholds": return .apiThresholds
            case "session": return .apiSession
            case "users": return .apiUsers
            case "tokens": return .apiTokens
            case "login-locks": return .apiLoginLocks
            case "audit": return .apiAudit
            case "intervals": return .apiIntervals
            case "events": return .apiEvents
            case "notifications": return .apiNotifications
            case "maintenance": return .apiMaintenance
            case "replication": return .apiReplication
            case "site": return .apiSite
            default: return nil
            }
        case 2:
            switch rest[0] {
            case "thresholds": return .apiThreshold(id: rest[1])
            case "users": return .apiUser(name: rest[1])
            case "tokens": return .apiToken(id: rest[1])
            case "session": return rest[1] == "ticket" ? .apiSessionTicket : nil
            case "login-locks": return rest[1] == "lift" ? .apiLoginLocksLift : nil
            case "notifications": return rest[1] == "test" ? .apiNotificationsTest : nil
            case "site": return rest[1] == "summary" ? .apiSiteSummary : nil
            case "maintenance": return .apiMaintenanceWindow(id: rest[1])
            case "cluster":
                switch rest[1] {
                case "handover": return .apiHandOver
                case "members": return .apiMembers
                default: return nil
                }
            default: return nil
            }
        case 3:
            if rest[0] == "cluster" && rest[1] == "members" { return .apiMember(name: rest[2]) }
            return rest[0] == "alerts" && rest[2] == "acknowledge" ? .apiAcknowledge(alertID: rest[1]) : nil
        case 4:
            return rest[0] == "chassis" && rest[2] == "slots" ? .apiSlot(chassisID: rest[1], slot: rest[3]) : nil
        case 5:
            guard rest[0] == "chassis" && rest[2] == "slots" else { return nil }
            switch rest[4] {
            case "history": return .apiSlotHistory(chassisID: rest[1], slot: rest[3])
            case "power": return .apiSlotPower(chassisID: rest[1], slot: rest[3])
            default: return nil
            }
        default:
            return nil
        }
    }

    /// `/redfish` and what is under `/redfish/v1`.
    static func matchRedfish(_ segments: [String]) -> Route? {
        if segments.isEmpty { return .redfishService }
        guard segments[0] == "v1" else { return nil }
        let rest = Array(segments.dropFirst())
        switch rest.first {
        case nil, "odata", "$metadata":
            return rest.count <= 1 ? .redfishService : nil
        case "SessionService":
            if rest.count == 2 && rest[1] == "Sessions" { return .redfishSessions }
            if rest.count == 3 && rest[1] == "Sessions" { return .redfishSession(id: rest[2]) }
            return rest.count == 1 ? .redfishResource : nil
        case "Managers":
            return rest.count <= 2 ? .redfishManagers : nil
        case "AccountService":
            return rest.count <= 3 ? .redfishAccounts : nil
        default:
            return rest.count <= 6 ? .redfishResource : nil
        }
    }

    /// Splits a raw path into decoded segments. Each segment is decoded on its own, so an encoded
    /// `/` (`%2F`) stays inside its segment. One trailing slash is ignored.
    public static func segments(rawPath: String) throws -> [String] {
        guard rawPath.hasPrefix("/") else { throw MalformedRequest("the request path must start with /") }
        var parts = rawPath.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        if parts.last == "" { parts.removeLast() }
        var segments: [String] = []
        for part in parts {
            guard !part.isEmpty else { throw MalformedRequest("empty segment in the request path") }
            segments.append(try URLCoding.percentDecode(part, plusIsSpace: false))
        }
        return segments
    }
}
