/// What the web app reads from a request's header fields and from the paths it may send a browser
/// back to, as pure functions of the text: the `Host` header, the `Cookie` and `Authorization`
/// headers, and the `next` and `return` paths. Kept apart from the edge that uses them so that
/// the http fuzz target (Fuzz/HTTPInputs.swift) compiles them without the rest of the app.
extension WebApp {
    // MARK: Whom the chassis answers

    /// The host part of a `Host` header (`name`, `name:port`, `[v6]:port`), lower-cased.
    static func hostName(_ header: String) -> String {
        var host = Substring(header.lowercased())
        if host.hasPrefix("[") {
            if let close = host.firstIndex(of: "]") { host = host[host.startIndex...close] }
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        return String(host)
    }

    // MARK: Credentials

    /// The value of cookie `name` in a `Cookie` header, scanned as bytes (every request of a
    /// browser carries the header).
    static func cookie(_ name: String, in header: String?) -> String? {
        guard let header, header.utf8.count <= 8_192 else { return nil }
        let wanted = Array(name.utf8)
        var bytes = header.utf8[...]
        while !bytes.isEmpty {
            while let first = bytes.first, first == 0x20 || first == 0x3B { bytes = bytes.dropFirst() }
            let end = bytes.firstIndex(of: 0x3B) ?? bytes.endIndex
            let pair = bytes[..<end]
            if let equals = pair.firstIndex(of: 0x3D), pair[..<equals].elementsEqual(wanted) {
                var value = pair[pair.index(after: equals)...]
                while let last = value.last, last == 0x20 { value = value.dropLast() }
                return String(decoding: value, as: UTF8.self)
            }
            bytes = bytes[end...]
        }
        return nil
    }

    static func bearer(_ header: String?) -> String? {
        guard let header, header.utf8.count <= 512 else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingSpaces()
    }

    // MARK: Where a browser goes next

    /// Only a local absolute path (`/…`, never `//host` or a scheme) is followed back.
    static func safeReturnPath(_ path: String) -> String {
        guard path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("\\") else { return "/" }
        return URLCoding.headerSafeTarget(path)
    }

    /// A local path to go on to after logging in: never another site (`//host`, a scheme, a
    /// backslash), never the login or logout pages themselves.
    static func safeNext(_ path: String) -> String {
        let safe = safeReturnPath(path)
        if safe.hasPrefix("/login") || safe.hasPrefix("/logout") || safe.hasPrefix("/session/") { return "/" }
        return safe
    }
}
