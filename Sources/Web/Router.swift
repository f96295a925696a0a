/// Every dynamic route of the application. Static files are nginx's.
public enum Route: Equatable, Sendable {
    case overview
    case modulePage(chassisID: String, slot: String)
    case apiChassis
    case apiSlot(chassisID: String, slot: String)
    case apiSlotHistory(chassisID: String, slot: String)
    case apiLocal
    case apiCluster
    case apiAlerts
    case apiAcknowledge(alertID: String)
    case apiThresholds
    case apiThreshold(id: String)
    case healthActive
    case metrics

    /// Methods the route answers; anything else gets `405` with these in `Allow`.
    public var allowedMethods: [String] {
        switch self {
        case .overview, .modulePage, .apiChassis, .apiSlotHistory, .apiLocal, .apiCluster, .apiAlerts,
             .healthActive, .metrics:
            return ["GET", "HEAD"]
        case .apiSlot: return ["GET", "HEAD", "PATCH", "POST"]
        case .apiAcknowledge: return ["POST"]
        case .apiThresholds: return ["PUT", "POST"]
        case .apiThreshold: return ["DELETE"]
        }
    }

    /// Query parameters the route accepts; any other is a `400`. Pages (nil) ignore parameters
    /// they do not use, as a person's bookmarks and links may carry some; the API is strict.
    public var allowedQueryNames: Set<String>? {
        switch self {
        case .overview, .modulePage: return nil
        case .apiSlotHistory: return ["key", "seconds"]
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
        case .apiLocal, .healthActive, .metrics: return true
        default: return false
        }
    }

    /// Whether errors on this route are answered as JSON rather than as an HTML page.
    public var answersJSON: Bool {
        switch self {
        case .overview, .modulePage, .metrics, .healthActive: return false
        default: return true
        }
    }

    /// Matches decoded path segments (`["api", "v1", "chassis"]`).
    public static func match(_ segments: [String]) -> Route? {
        switch segments.count {
        case 0:
            return .overview
        case 1:
            return segments[0] == "metrics" ? .metrics : nil
        case 2:
            return segments == ["health", "active"] ? .healthActive : nil
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
            default: return nil
            }
        case 2:
            return rest[0] == "thresholds" ? .apiThreshold(id: rest[1]) : nil
        case 3:
            return rest[0] == "alerts" && rest[2] == "acknowledge" ? .apiAcknowledge(alertID: rest[1]) : nil
        case 4:
            return rest[0] == "chassis" && rest[2] == "slots" ? .apiSlot(chassisID: rest[1], slot: rest[3]) : nil
        case 5:
            return rest[0] == "chassis" && rest[2] == "slots" && rest[4] == "history"
                ? .apiSlotHistory(chassisID: rest[1], slot: rest[3]) : nil
        default:
            return nil
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
