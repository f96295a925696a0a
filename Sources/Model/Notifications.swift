/// Where the active manager sends word of alerts, set at run time and replicated: the lists
/// `alertmanager`, `syslog`, `email` and `hooks` of `GET/PUT /api/v1/notifications`.
///
/// A target's identity (`id`) comes from what it addresses (the URL, the collector, the server
/// and recipients, the command), so that editing one target leaves the others' delivery
/// positions alone, and a new target starts from now instead of receiving the whole history.
public struct NotificationTargets: Sendable, Codable, Equatable {
    public var alertmanager: [AlertmanagerTarget]
    public var syslog: [SyslogTarget]
    public var email: [EmailTarget]
    public var hooks: [HookTarget]

    /// Targets of one kind at most.
    public static let perKindMax = 8

    public init(alertmanager: [AlertmanagerTarget] = [], syslog: [SyslogTarget] = [], email: [EmailTarget] = [],
                hooks: [HookTarget] = []) {
        self.alertmanager = alertmanager
        self.syslog = syslog
        self.email = email
        self.hooks = hooks
    }

    enum Keys: String, CodingKey, CaseIterable { case alertmanager, syslog, email, hooks }

    public init(from decoder: Decoder) throws {
        try NotificationDecoding.refuseUnknown(decoder, Keys.self)
        let container = try decoder.container(keyedBy: Keys.self)
        alertmanager = try container.decodeIfPresent([AlertmanagerTarget].self, forKey: .alertmanager) ?? []
        syslog = try container.decodeIfPresent([SyslogTarget].self, forKey: .syslog) ?? []
        email = try container.decodeIfPresent([EmailTarget].self, forKey: .email) ?? []
        hooks = try container.decodeIfPresent([HookTarget].self, forKey: .hooks) ?? []
    }

    public var isEmpty: Bool { alertmanager.isEmpty && syslog.isEmpty && email.isEmpty && hooks.isEmpty }

    /// Every target's id, in the order of the lists.
    public var ids: [String] {
        alertmanager.map(\.id) + syslog.map(\.id) + email.map(\.id) + hooks.map(\.id)
    }

    /// The first thing wrong, naming the field (`email[1].to[0]: …`), or nil.
    public func problem() -> String? {
        for (name, count) in [("alertmanager", alertmanager.count), ("syslog", syslog.count), ("email", email.count),
                              ("hooks", hooks.count)] where count > Self.perKindMax {
            return "\(name): at most \(Self.perKindMax) targets"
        }
        for (index, target) in alertmanager.enumerated() {
            if let problem = target.problem() { return "alertmanager[\(index)].\(problem)" }
        }
        for (index, target) in syslog.enumerated() {
            if let problem = target.problem() { return "syslog[\(index)].\(problem)" }
        }
        for (index, target) in email.enumerated() {
            if let problem = target.problem() { return "email[\(index)].\(problem)" }
        }
        for (index, target) in hooks.enumerated() {
            if let problem = target.problem() { return "hooks[\(index)].\(problem)" }
        }
        let ids = self.ids
        if Set(ids).count != ids.count { return "the same target is listed twice" }
        return nil
    }

    /// The targets with every password left out (what is shown and audited).
    public var withoutSecrets: NotificationTargets {
        var copy = self
        for index in copy.email.indices {
            copy.email[index].password = nil
            copy.email[index].sealedPassword = nil
        }
        return copy
    }
}

/// The least severe event a target is sent: `warning` (the default) sends raised and cleared
/// alerts of both severities; `critical` only critical ones; `info` also acknowledgements and
/// module and membership events.
public typealias MinimumSeverity = EventSeverity

/// Prometheus' Alertmanager (API v2): open alerts are sent again while they are open, cleared
/// ones with their `endsAt`.
public struct AlertmanagerTarget: Sendable, Codable, Equatable {
    /// `http://host:9093` or `https://…`, to which `/api/v2/alerts` is added.
    public var url: String
    /// A file of CA certificates (PEM) on every blade that an `https` Alertmanager's certificate
    /// must chain to, when it is not one the system trusts.
    public var caFile: String?
    public var minimumSeverity: MinimumSeverity

    public init(url: String, caFile: String? = nil, minimumSeverity: MinimumSeverity = .warning) {
        self.url = url
        self.caFile = caFile
        self.minimumSeverity = minimumSeverity
    }

    enum Keys: String, CodingKey, CaseIterable { case url, caFile, minimumSeverity }

    public init(from decoder: Decoder) throws {
        try NotificationDecoding.refuseUnknown(decoder, Keys.self)
        let container = try decoder.container(keyedBy: Keys.self)
        url = try container.decode(String.self, forKey: .url)
        caFile = try container.decodeIfPresent(String.self, forKey: .caFile)
        minimumSeverity = try container.decodeIfPresent(MinimumSeverity.self, forKey: .minimumSeverity) ?? .warning
    }

    public var id: String { NotificationDecoding.id("alertmanager", url) }

    func problem() -> String? {
        NotificationDecoding.urlProblem(url, field: "url", schemes: ["http", "https"])
            ?? caFile.flatMap { NotificationDecoding.pathProblem($0, field: "caFile") }
    }
}

/// A syslog collector (RFC 5424; UDP, or TCP with octet counting as RFC 6587 says).
public struct SyslogTarget: Sendable, Codable, Equatable {
    public enum Transport: String, Sendable, Codable, CaseIterable { case udp, tcp }

    /// An IPv4 address or a host name.
    public var host: String
    public var port: Int
    public var transport: Transport
    /// The syslog facility's number (3, `daemon`, unless set; 16 to 23 are `local0` to `local7`).
    public var facility: Int
    public var minimumSeverity: MinimumSeverity

    public init(host: String, port: Int = 514, transport: Transport = .udp, facility: Int = 3,
                minimumSeverity: MinimumSeverity = .warning) {
        self.host = host
        self.port = port
        self.transport = transport
        self.facility = facility
        self.minimumSeverity = minimumSeverity
    }

    enum Keys: String, CodingKey, CaseIterable { case host, port, transport, facility, minimumSeverity }

    public init(from decoder: Decoder) throws {
        try NotificationDecoding.refuseUnknown(decoder, Keys.self)
        let container = try decoder.container(keyedBy: Keys.self)
        host = try container.decode(String.self, forKey: .host)
        port = try container.decodeIfPresent(Int.self, forKey: .port) ?? 514
        transport = try container.decodeIfPresent(Transport.self, forKey: .transport) ?? .udp
        facility = try container.decodeIfPresent(Int.self, forKey: .facility) ?? 3
        minimumSeverity = try container.decodeIfPresent(MinimumSeverity.self, forKey: .minimumSeverity) ?? .warning
    }

    public var id: String { NotificationDecoding.id("syslog", "\(transport.rawValue)://\(host):\(port)") }

    func problem() -> String? {
        if let problem = NotificationDecoding.hostProblem(host, field: "host") { return problem }
        if !(1...65_535).contains(port) { return "port must be from 1 to 65535" }
        if !(0...23).contains(facility) { return "facility must be from 0 to 23" }
        return nil
    }
}

/// Mail through an SMTP server: one message per alert change, a digest when many change at once.
public struct EmailTarget: Sendable, Codable, Equatable {
    public enum Security: String, Sendable, Codable, CaseIterable {
        /// Plain SMTP upgraded with STARTTLS, which must succeed (the default).
        case starttls
        /// TLS from the first byte (SMTPS, usually port 465).
        case tls
        /// No encryption: only for a relay on the same host or a test.
        case none
    }

    public var server: String
    public var port: Int
    public var security: Security
    public var username: String?
    /// Given in a request only: the engine seals it and keeps only `sealedPassword`.
    public var password: String?
    /// The password sealed under a key derived from the cluster key (`ChassisKeys.SealedSecret`).
    public var sealedPassword: String?
    public var from: String
    public var to: [String]
    /// CA certificates (PEM) on every blade the server's certificate must chain to, when it is not
    /// one the system trusts.
    public var caFile: String?
    public var minimumSeverity: MinimumSeverity

    public static let recipientsMax = 16

    public init(server: String, port: Int = 587, security: Security = .starttls, username: String? = nil,
                password: String? = nil, sealedPassword: String? = nil, from: String, to: [String], caFile: String? = nil,
                minimumSeverity: MinimumSeverity = .warning) {
        self.server = server
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.sealedPassword = sealedPassword
        self.from = from
        self.to = to
        self.caFile = caFile
        self.minimumSeverity = minimumSeverity
    }

    enum Keys: String, CodingKey, CaseIterable {
        case server, port, security, username, password, sealedPassword, from, to, caFile, minimumSeverity
    }

    public init(from decoder: Decoder) throws {
        try NotificationDecoding.refuseUnknown(decoder, Keys.self)
        let container = try decoder.container(keyedBy: Keys.self)
        server = try container.decode(String.self, forKey: .server)
        security = try container.decodeIfPresent(Security.self, forKey: .security) ?? .starttls
        port = try container.decodeIfPresent(Int.self, forKey: .port) ?? (security == .tls ? 465 : 587)
        username = try container.decodeIfPresent(String.self, forKey: .username)
        password = try container.decodeIfPresent(String.self, forKey: .password)
        sealedPassword = try container.decodeIfPresent(String.self, forKey: .sealedPassword)
        from = try container.decode(String.self, forKey: .from)
        to = try container.decode([String].self, forKey: .to)
        caFile = try container.decodeIfPresent(String.self, forKey: .caFile)
        minimumSeverity = try container.decodeIfPresent(MinimumSeverity.self, forKey: .minimumSeverity) ?? .warning
    }

    public var id: String {
        NotificationDecoding.id("email", "\(server):\(port)/\(username ?? "")/\(to.joined(separator: ","))")
    }

    /// Whether `other` is the same login on the same server, so that its sealed password may be kept
    /// when a change does not give the password again.
    public func sameLogin(as other: EmailTarget) -> Bool {
        server == other.server && port == other.port && username == other.username
    }

    func problem() -> String? {
        if let problem = NotificationDecoding.hostProblem(server, field: "server") { return problem }
        if !(1...65_535).contains(port) { return "port must be from 1 to 65535" }
        if let username, let problem = NotificationDecoding.textProblem(username, field: "username", bytesMax: 128, allowEmpty: false) {
            return problem
        }
        if let password {
            if password.utf8.count > 256 { return "password is longer than 256 bytes" }
            if password.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                return "password contains a control character"
            }
            if username == nil { return "password needs a username" }
        }
        if let problem = NotificationDecoding.mailboxProblem(from, field: "from") { return problem }
        if to.isEmpty { return "to must name at least one recipient" }
        if to.count > Self.recipientsMax { return "to: at most \(Self.recipientsMax) recipients" }
        for (index, address) in to.enumerated() {
            if let problem = NotificationDecoding.mailboxProblem(address, field: "to[\(index)]") { return problem }
        }
        if let caFile, let problem = NotificationDecoding.pathProblem(caFile, field: "caFile") { return problem }
        return nil
    }
}

/// A command run when an alert is raised or cleared (`/bin/sh -c`), with the alert in its
/// environment (`CHASSIS_ALERT_*`), bounded in time, its output in the engine's log.
public struct HookTarget: Sendable, Codable, Equatable {
    public var command: String
    public var timeoutSeconds: Double
    public var minimumSeverity: MinimumSeverity

    public static let timeoutSecondsMax = 300.0

    public init(command: String, timeoutSeconds: Double = 10, minimumSeverity: MinimumSeverity = .warning) {
        self.command = command
        self.timeoutSeconds = timeoutSeconds
        self.minimumSeverity = minimumSeverity
    }

    enum Keys: String, CodingKey, CaseIterable { case command, timeoutSeconds, minimumSeverity }

    public init(from decoder: Decoder) throws {
        try NotificationDecoding.refuseUnknown(decoder, Keys.self)
        let container = try decoder.container(keyedBy: Keys.self)
        command = try container.decode(String.self, forKey: .command)
        timeoutSeconds = try container.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? 10
        minimumSeverity = try container.decodeIfPresent(MinimumSeverity.self, forKey: .minimumSeverity) ?? .warning
    }

    public var id: String { NotificationDecoding.id("hook", command) }

    func problem() -> String? {
        if command.utf8.count > 1_024 { return "command is longer than 1024 bytes" }
        if command.allSatisfy({ $0 == " " || $0 == "\t" }) { return "command is empty" }
        if command.unicodeScalars.contains(where: { $0.value == 0 || $0.value == 0x0A || $0.value == 0x0D }) {
            return "command must be one line"
        }
        if !timeoutSeconds.isFinite || timeoutSeconds <= 0 || timeoutSeconds > Self.timeoutSecondsMax {
            return "timeoutSeconds must be more than 0 and at most \(Int(Self.timeoutSecondsMax))"
        }
        return nil
    }
}

/// Checks shared by the targets.
enum NotificationDecoding {
    struct UnknownField: Error, CustomStringConvertible {
        var description: String
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    static func refuseUnknown<K: CodingKey & CaseIterable>(_ decoder: Decoder, _ keys: K.Type) throws {
        let allowed = Set(K.allCases.map(\.stringValue))
        let container = try decoder.container(keyedBy: AnyKey.self)
        if let unknown = container.allKeys.map(\.stringValue).filter({ !allowed.contains($0) }).sorted().first {
            throw UnknownField(description: "unknown field \"\(unknown.prefix(40))\"")
        }
    }

    /// `kind-` and 16 hex digits of FNV-1a 64 of what the target addresses (an identity, not a secret).
    static func id(_ kind: String, _ identity: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in identity.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return kind + "-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func textProblem(_ value: String, field: String, bytesMax: Int, allowEmpty: Bool) -> String? {
        if !allowEmpty && value.isEmpty { return "\(field) is empty" }
        if value.utf8.count > bytesMax { return "\(field) is longer than \(bytesMax) bytes" }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "\(field) contains a control character"
        }
        return nil
    }

    /// An absolute path without control characters.
    static func pathProblem(_ path: String, field: String) -> String? {
        if !path.hasPrefix("/") { return "\(field) must be an absolute path" }
        return textProblem(path, field: field, bytesMax: 1_024, allowEmpty: false)
    }

    /// A host name (letters, digits, `-`, `.`) or an IPv4 address.
    static func hostProblem(_ host: String, field: String) -> String? {
        if host.isEmpty { return "\(field) is empty" }
        if host.utf8.count > 253 { return "\(field) is longer than 253 bytes" }
        let allowed = host.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x2E
        }
        if !allowed || host.hasPrefix("-") || host.hasPrefix(".") || host.contains("..") {
            return "\(field) must be a host name or an IPv4 address"
        }
        return nil
    }

    /// `scheme://host[:port][/path]` with nothing that could end a header or a configuration line.
    static func urlProblem(_ url: String, field: String, schemes: [String]) -> String? {
        if url.utf8.count > 512 { return "\(field) is longer than 512 bytes" }
        let scheme = url.prefix { $0 != ":" }.lowercased()
        guard schemes.contains(scheme), url.dropFirst(scheme.count).hasPrefix("://") else {
            return "\(field) must start with \(schemes.joined(separator: ":// or "))://"
        }
        let rest = url.dropFirst(scheme.count + 3)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        if authority.contains("@") { return "\(field) must not carry a user or password" }
        var host = Substring(authority)
        if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let port = Int(authority[authority.index(after: colon)...]), (1...65_535).contains(port) else {
                return "\(field) has a port that is not a number from 1 to 65535"
            }
        }
        if let problem = hostProblem(String(host), field: field + "'s host") { return problem }
        let pathAllowed = path.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar.value < 0x7F && !"\"\\<>{}|^`".unicodeScalars.contains(scalar)
        }
        if !pathAllowed || path.contains("?") || path.contains("#") { return "\(field) has a path with characters a URL path does not take" }
        return nil
    }

    /// `local@domain`: printable ASCII without spaces, quotes, angle brackets or commas.
    static func mailboxProblem(_ address: String, field: String) -> String? {
        if address.utf8.count > 254 { return "\(field) is longer than 254 bytes" }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return "\(field) must be an address like name@example.com" }
        let allowed = address.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar.value < 0x7F && !"\"(),:;<>[\\]".unicodeScalars.contains(scalar)
        }
        if !allowed { return "\(field) must be an address like name@example.com" }
        if let problem = hostProblem(String(parts[1]), field: field + "'s domain") { return problem }
        return nil
    }
}
