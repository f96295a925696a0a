import Model

/// What a blade does with a request, given its own view of the election (DESIGN.md).
public enum RedirectDecision: Equatable, Sendable {
    /// This blade is the active manager: answer it.
    case serve
    /// Another blade is the active manager: `302` for GET/HEAD, `307` for the rest.
    case redirect(status: Int, location: String)
    /// No active manager is known: `503` with `Retry-After` and the reason.
    case unavailable(reason: String)
}

/// The redirect rule, as a pure function of the request and the blade's views.
public enum RedirectRule {
    /// Whether this blade may answer as the active manager right now. The lease check is made by
    /// the store against the host's monotonic clock when `local()` is read.
    public static func isActive(_ local: LocalView) -> Bool {
        local.role == .active && local.leaseValid
    }

    /// Decides for a request that is subject to the rule (see `Route.isNeverRedirected`).
    ///
    /// The `Location` is built only from a configured member's URL (from the cluster view), plus
    /// the request's own raw path and query; the `Host` header is never consulted, so a client
    /// cannot make a blade redirect anywhere else.
    public static func decide(method: String, rawTarget: String, local: LocalView, cluster: ClusterView?) -> RedirectDecision {
        if isActive(local) { return .serve }
        if let base = activeBaseURL(local: local, cluster: cluster) {
            let status = (method == "GET" || method == "HEAD") ? 302 : 307
            var target = URLCoding.headerSafeTarget(rawTarget)
            if !target.hasPrefix("/") { target = "/" + target }
            return .redirect(status: status, location: base + target)
        }
        return .unavailable(reason: reason(local: local, cluster: cluster))
    }

    /// The active manager's base URL, only if it names a configured member other than this blade.
    static func activeBaseURL(local: LocalView, cluster: ClusterView?) -> String? {
        guard let cluster else { return nil }
        let members = cluster.members.filter { $0.role != .witness }
        var candidates: [String] = []
        if let url = local.activeURL { candidates.append(url) }
        if let address = local.activeAddress, let member = members.first(where: { $0.address == address }) {
            candidates.append(member.url)
        }
        if let active = cluster.active { candidates.append(active.url) }
        for candidate in candidates {
            let base = normalisedBase(candidate)
            guard isSafeBaseURL(base) else { continue }
            guard let member = members.first(where: { normalisedBase($0.url) == base }) else { continue }
            // A blade never redirects to itself: that would loop until its own view catches up.
            if member.address == local.address { continue }
            return base
        }
        return nil
    }

    static func normalisedBase(_ url: String) -> String {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// `http://` or `https://`, then an authority of printable ASCII with no path, query or fragment.
    static func isSafeBaseURL(_ url: String) -> Bool {
        let authority: Substring
        if url.hasPrefix("http://") {
            authority = url.dropFirst(7)
        } else if url.hasPrefix("https://") {
            authority = url.dropFirst(8)
        } else {
            return false
        }
        guard !authority.isEmpty else { return false }
        return authority.utf8.allSatisfy { byte in
            byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "/") && byte != UInt8(ascii: "?")
                && byte != UInt8(ascii: "#") && byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "@")
                && byte != UInt8(ascii: "\"")
        }
    }

    /// Why there is no active manager, in words for the operator.
    public static func reason(local: LocalView, cluster: ClusterView?) -> String {
        if let reason = cluster?.reason, !reason.isEmpty { return reason }
        switch local.role {
        case .unknown:
            return "The engine on this blade (\(local.blade)) is not publishing its state."
        case .active:
            return "This blade's lease as active manager has expired; an election is under way (term \(local.term))."
        case .candidate:
            return "An election is under way (term \(local.term))."
        default:
            if local.engine.stale { return "The engine on this blade (\(local.blade)) is stale; no active manager is known." }
            return "No active manager is known to this blade (\(local.blade)) in term \(local.term)."
        }
    }
}
