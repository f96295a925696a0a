/// snmpd's configuration for a blade, as text: the master agent for `chassis-snmp`, SNMPv3 users
/// with authentication and privacy (operators in the default context, each customer only in its
/// own context, which the subagent answers with that customer's slots), SNMPv2c read-only only
/// when a community is given, and SNMPv3 informs to the receivers. Pure: `chassisctl snmp config`
/// and the demo write what this returns. The file holds secrets (communities, the inform user's
/// keys): write it mode 0600. Users' passwords are not here: `createUserLine` goes to snmpd's
/// persistent file, which snmpd rewrites with localized keys at its first stop.
public enum SNMPDConfig {
    public struct Settings: Sendable {
        /// `udp:ADDRESS:PORT`.
        public var agentAddress: String
        public var agentxSocket: String
        /// SNMPv3 users that see the whole chassis (the default context).
        public var operators: [String]
        /// SNMPv3 users that see only their own context (named after the user).
        public var customers: [String]
        /// The SNMPv2c read-only community (default context); nil: SNMPv2c is refused.
        public var v2cCommunity: String?
        public var informSinks: [(address: String, port: Int)]
        /// The SNMPv3 user snmpd sends informs as, with its passwords (nil: no notifications).
        public var informUser: (name: String, authPassword: String, privacyPassword: String)?
        /// Owner and group of the AgentX socket (nil: snmpd's own); the subagent's user must be able to connect.
        public var agentxGroup: String?

        public init(agentAddress: String, agentxSocket: String, operators: [String], customers: [String], v2cCommunity: String? = nil,
                    informSinks: [(address: String, port: Int)] = [], informUser: (name: String, authPassword: String, privacyPassword: String)? = nil,
                    agentxGroup: String? = nil) {
            self.agentAddress = agentAddress
            self.agentxSocket = agentxSocket
            self.operators = operators
            self.customers = customers
            self.v2cCommunity = v2cCommunity
            self.informSinks = informSinks
            self.informUser = informUser
            self.agentxGroup = agentxGroup
        }
    }

    /// The protocols: SHA-256 authentication (RFC 7860) and AES-128 privacy (RFC 3826).
    public static let authProtocol = "SHA-256"
    public static let privacyProtocol = "AES"
    /// Each inform's timeout and retries (see `render`).
    public static let informTimeoutSeconds = 1
    public static let informRetries = 1

    public struct Problem: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// A user name, community or context as snmpd's configuration can hold it without quoting.
    public static func isPlainWord(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 32
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
    }

    /// A password snmpd accepts (at least 8 characters) that needs no quoting.
    public static func isPassword(_ text: String) -> Bool {
        text.utf8.count >= 8 && text.utf8.count <= 64
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.+/=".unicodeScalars.contains($0)) }
    }

    public static func render(_ settings: Settings) throws -> String {
        for name in settings.operators + settings.customers + [settings.v2cCommunity, settings.informUser?.name].compactMap({ $0 })
        where !isPlainWord(name) {
            throw Problem(description: "'\(name)' must be 1 to 32 letters, digits, '-', '_' or '.'")
        }
        if let user = settings.informUser, !isPassword(user.authPassword) || !isPassword(user.privacyPassword) {
            throw Problem(description: "the inform user's passwords must be 8 to 64 letters, digits or -_.+/=")
        }
        var lines = [
            "# snmpd for Chassis Manager, written by chassisctl: the master agent of chassis-snmp (AgentX).",
            "# It holds secrets (communities, the inform user's keys): mode 0600.",
            "agentAddress \(settings.agentAddress)",
            "master agentx",
            "agentXSocket \(settings.agentxSocket)",
        ]
        if let group = settings.agentxGroup {
            lines.append("agentXPerms 0660 0750 root \(group)")
        }
        lines += [
            "# Every object snmpd and chassis-snmp answer; what a user sees is decided by its context.",
            "view chassisAll included .1",
        ]
        for name in settings.operators {
            lines.append("# operator \(name): the whole chassis, the default context, authentication and privacy required")
            lines.append("group chassisOperator_\(name) usm \(name)")
            lines.append("access chassisOperator_\(name) \"\" usm priv exact chassisAll none none")
        }
        for name in settings.customers {
            lines.append("# customer \(name): only its context \(name), which chassis-snmp answers with its slots")
            lines.append("group chassisCustomer_\(name) usm \(name)")
            lines.append("access chassisCustomer_\(name) \(name) usm priv exact chassisAll none none")
        }
        if let community = settings.v2cCommunity {
            lines.append("# SNMPv2c, read-only, default context: turned on by the operator")
            lines.append("rocommunity \(community) default -V chassisAll")
        } else {
            lines.append("# No SNMPv2c or SNMPv1: no community is configured.")
        }
        if let user = settings.informUser {
            // snmpd learns an inform receiver's SNMPv3 engine ID by asking it, synchronously: a
            // receiver that does not answer holds snmpd (queries and the AgentX session included)
            // for the timeout times the tries. One second, one retry: at most 2 s a notification.
            for sink in settings.informSinks {
                lines.append("trapsess -Ci -t \(informTimeoutSeconds) -r \(informRetries) -v 3 -u \(user.name) -l authPriv "
                             + "-a \(authProtocol) -A \(user.authPassword) -x \(privacyProtocol) -X \(user.privacyPassword) "
                             + "\(sink.address):\(sink.port)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The line for snmpd's persistent file (`PERSISTENT_DIR/snmpd.conf`) that creates a user.
    public static func createUserLine(name: String, authPassword: String, privacyPassword: String) throws -> String {
        guard isPlainWord(name) else { throw Problem(description: "'\(name)' must be 1 to 32 letters, digits, '-', '_' or '.'") }
        guard isPassword(authPassword), isPassword(privacyPassword) else {
            throw Problem(description: "passwords must be 8 to 64 letters, digits or -_.+/=")
        }
        return "createUser \(name) \(authProtocol) \(authPassword) \(privacyProtocol) \(privacyPassword)\n"
    }
}
