#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Model

/// A configuration file problem, always naming the file and, where there is one, the line.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int
    public var message: String

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
}

/// Everything one blade's processes read from its configuration file (see `config/blade.example.toml`).
public struct BladeConfig: Sendable, Equatable {
    public struct Blade: Sendable, Equatable {
        public var name = "blade1"
        /// The address this blade's engine and nginx bind; also its election preference.
        public var address = "127.0.0.1"
        public var slot = 1
    }

    public struct Chassis: Sendable, Equatable {
        public var id = "000000000000"
        public var name = "Chassis"
        public var site = ""
        public var row = ""
        public var rack = ""
        public var shelf = ""
        public var slots = 16
        /// Chassis-level devices (power supplies, chassis fans, midplane): a command printing
        /// `KEY VALUE` lines, or a directory for simulated devices (the demo); neither: none.
        public var devicesCommand: String? = nil
        public var devicesSimulatedDir: String? = nil
        /// Powers a slot on, shuts it down, powers it off, cycles or resets it (`ipmitool`, the
        /// midplane's tool): a template with `{slot}`, `{address}`, `{blade}` and `{action}`
        /// (on, shutdown, off, cycle, reset), run by the active manager. nil: no power control.
        public var powerCommand: CommandTemplate? = nil
        /// Lights a slot's identify LED or puts it out: the same placeholders, `{action}` on or off.
        public var identifyCommand: CommandTemplate? = nil
        /// A power or identify command still running after this long is killed and reported failed.
        public var powerTimeoutSeconds = 60.0
        /// After a power-on, cycle or reset, a blade's silence is not an alert for this long
        /// (it is booting), unless it reported since.
        public var powerBootSeconds = 180.0
        /// What one chassis power supply delivers at most: N+1 redundancy holds while the working
        /// supplies carry the load with one to spare.
        public var powerSupplyWatts = 2_000.0
    }

    public struct Paths: Sendable, Equatable {
        /// Survives power loss: config.db.
        public var stateDir = "/var/lib/chassis"
        /// A tmpfs: metrics.db and the sockets.
        public var runtimeDir = "/run/chassis"
        public var configDatabase: String { stateDir + "/config.db" }
        /// The first administrator's name and password hash, written at installation
        /// (`chassisctl first-admin`) for the active manager to add to a chassis without users.
        public var firstAdministrator: String { stateDir + "/first-admin" }
        public var metricsDatabase: String { runtimeDir + "/metrics.db" }
        public var controlSocket: String { runtimeDir + "/engine.sock" }
        public var webSocket: String { runtimeDir + "/web.sock" }
        /// The web app's session key, written by the engine (derived from the cluster key).
        public var webKey: String { runtimeDir + "/web.key" }
        /// The web app's site key, written by the engine (derived from `[site] key_file`).
        public var siteKey: String { runtimeDir + "/site.key" }
        /// This blade's HTTPS certificate, its key, the chassis authority's certificate, and the
        /// notes the engine reads of them (the end; the end, the authority's digest and the names).
        public var tlsDir: String { stateDir + "/tls" }
        public var certificate: String { tlsDir + "/blade.crt" }
        public var certificateKey: String { tlsDir + "/blade.key" }
        public var certificateAuthority: String { tlsDir + "/ca.crt" }
        public var certificateNotAfter: String { tlsDir + "/blade.crt.not-after" }
        public var certificateMeta: String { tlsDir + "/blade.crt.meta" }
    }

    public struct Web: Sendable, Equatable {
        public var port = 8080
        /// Worker threads of the FastCGI edge: one per core (at least two). Kept connections do
        /// not pin them; more threads than cores only add scheduler switches (measured by hand
        /// with `make bench-web`'s wrk load on 2 cores: 2 threads served 33 to 35 k requests a
        /// second, 4 threads 32 to 33 k, 8 threads 30 k, 1 thread 28 to 29 k).
        public var threads = Web.threadsByDefault
        public static var threadsByDefault: Int { max(2, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
        public var templatesDir = "Templates"
        public var publicDir = "Public"
        /// Values older than this are shown as stale, with the time the engine stopped.
        public var staleAfterSeconds = 5.0
        public var requestBodyBytesMax = 64 * 1024
    }

    public struct Hardware: Sendable, Equatable {
        public var procRoot = "/proc"
        public var sysRoot = "/sys"
        /// When set, simulated hardware writes a fake hwmon tree here (the demo).
        public var simulatedDir: String? = nil
        /// Identification where DMI has none (virtual machines, the demo).
        public var serial = ""
        public var model = ""
        public var revision = ""
        public var manufacturer = ""
        /// Mount points the filesystem collector watches only (when not empty), and leaves out;
        /// each takes everything under it.
        public var filesystemsInclude: [String] = []
        public var filesystemsExclude: [String] = []
    }

    public struct History: Sendable, Equatable {
        /// Raw samples are kept this long.
        public var rawSeconds = 3_600
        /// One-minute aggregates are kept this long.
        public var aggregateSeconds = 86_400
    }

    /// A member of the election (for a single blade: itself only).
    public struct Member: Sendable, Equatable {
        public var name: String
        public var address: String
        public var slot: Int?
        public var priority: Int?
        public var witness: Bool
        public var port: Int
        /// The member's identity in the election, when it is not the one its place gives it (its
        /// slot, or 100 + its position): set for members learnt from a running chassis (`join_via`).
        public var id: Int?

        public init(name: String, address: String, slot: Int?, priority: Int?, witness: Bool, port: Int, id: Int? = nil) {
            self.name = name
            self.address = address
            self.slot = slot
            self.priority = priority
            self.witness = witness
            self.port = port
            self.id = id
        }
    }

    /// The election among blades.
    public struct Cluster: Sendable, Equatable {
        /// A file holding the shared cluster key (hex, or at least 16 raw bytes); every member has
        /// the same. Needed once there is more than one member.
        public var keyFile: String? = nil
        /// A command that prints, one per line, the members confirmed powered off (the chassis
        /// midplane, IPMI). Used only in a two-blade chassis without a witness.
        public var fenceCommand: String? = nil
        public var fencePollMs = 500
        /// A blade whose metrics stop arriving for this long is shown as down.
        public var downAfterMs = 3_000
        /// A blade added to a running chassis starts with no membership and waits for the active
        /// manager to add it (`chassisctl member add`); its `[[member]]` list says how to reach the others.
        public var join = false
        /// Join a running chassis by naming one of its members: its address and web port
        /// (`127.0.1.2:8080`; the port defaults to this blade's). The engine learns the members
        /// from that blade's `/api/v1/cluster` at start, then waits to be added, as with `join`.
        public var joinVia: (address: String, port: Int)?

        public static func == (lhs: Cluster, rhs: Cluster) -> Bool {
            lhs.keyFile == rhs.keyFile && lhs.fenceCommand == rhs.fenceCommand && lhs.fencePollMs == rhs.fencePollMs
                && lhs.downAfterMs == rhs.downAfterMs && lhs.join == rhs.join
                && lhs.joinVia?.address == rhs.joinVia?.address && lhs.joinVia?.port == rhs.joinVia?.port
        }
    }

    /// Commands run on every change of role, with the details in their environment.
    public struct Hooks: Sendable, Equatable {
        public var onActive: String? = nil
        public var onStandby: String? = nil
        public var onNoQuorum: String? = nil
        /// A hook still running after this long is killed.
        public var timeoutSeconds = 10.0
    }

    /// Who may reach the chassis, and how: HTTPS, the names it answers to, sessions.
    public struct Access: Sendable, Equatable {
        /// The HTTPS port nginx serves (443 in production, 8443 in the demo); plain HTTP
        /// (`web.port`) answers `/health/active` and redirects the rest there. 0: no HTTPS
        /// (a blade reached only through a TLS-terminating proxy or in unit tests).
        public var httpsPort = 443
        /// Names the chassis is reached by (DNS names, a virtual address), besides the members'
        /// addresses: requests with any other Host are refused (421), which closes DNS rebinding.
        public var names: [String] = []
        /// A session unused this long ends; a session ends this long after its login.
        public var sessionIdleSeconds = 1_800
        public var sessionLifetimeSeconds = 43_200
        /// Networks (CIDR) from which `/metrics` may be scraped without a token; none by default.
        public var metricsAnonymousNetworks: [String] = []
        /// The operator's own certificate and key (PEM) instead of the chassis CA's.
        public var certificateFile: String? = nil
        public var certificateKeyFile: String? = nil
        /// Run after the engine wrote a new certificate, so that nginx serves it
        /// (`systemctl reload nginx`; the demo sends nginx SIGHUP).
        public var reloadCommand: String? = nil
    }

    /// SNMP (`chassis-snmp`, an AgentX subagent of Debian's snmpd). Off unless `enabled`.
    public struct SNMP: Sendable, Equatable {
        public var enabled = false
        /// snmpd's AgentX socket (its `agentXSocket`), which the subagent connects to.
        public var agentxSocket = "/run/chassis/agentx.sock"
        /// How often the subagent reads the store again (and decides notifications).
        public var refreshMs = 1_000
        /// How long it waits before connecting again when snmpd is not there or went away.
        public var reconnectMs = 1_000
        /// Where snmpd listens (its `agentAddress`), for `chassisctl snmp config`; empty: the
        /// blade's address, UDP port 161.
        public var agentAddress = ""
        /// A file holding the SNMPv2c read-only community; empty (the default): no SNMPv2c at all.
        public var v2cCommunityFile = ""
        /// Where notifications go (snmpd's trap sessions): `HOST:PORT` of SNMPv3 inform receivers.
        public var informSinks: [String] = []
        /// snmpd's persistent directory, where `chassisctl snmp user` writes createUser lines (Debian's snmpd: /var/lib/snmp).
        public var persistentDir = "/var/lib/snmp"
    }

    /// The other chassis of the site, each its own cluster, shown on the site page.
    public struct Site: Sendable, Equatable {
        /// The site's name on the site page (default: the chassis' own `site`).
        public var name = ""
        /// The secret every chassis of the site shares (hex, like the cluster key); needed once
        /// any other chassis is listed.
        public var keyFile: String? = nil
        /// How often the active manager asks every other chassis for its summary.
        public var pollSeconds = 2.0
        /// How long one question may take, per address.
        public var timeoutMs = 1_000
        public var chassis: [SiteChassis] = []
    }

    /// Another chassis of the site (`[[site_chassis]]`): its members' addresses (or a virtual
    /// address), its plain HTTP port, where the summary is asked, and the HTTPS port browsers use.
    public struct SiteChassis: Sendable, Equatable {
        public var name: String
        public var addresses: [String]
        public var port: Int
        public var httpsPort: Int

        public init(name: String, addresses: [String], port: Int = 80, httpsPort: Int = 443) {
            self.name = name
            self.addresses = addresses
            self.port = port
            self.httpsPort = httpsPort
        }

        /// The origin a browser gives this chassis' pages at `address`.
        public func origin(address: String) -> String {
            httpsPort == 443 ? "https://\(address)" : "https://\(address):\(httpsPort)"
        }
    }

    public var file = ""
    public var blade = Blade()
    public var chassis = Chassis()
    public var paths = Paths()
    public var web = Web()
    public var hardware = Hardware()
    public var history = History()
    /// Sampling interval per group in milliseconds.
    public var intervalsMs: [SamplingGroup: Int] = Dictionary(
        uniqueKeysWithValues: SamplingGroup.allCases.map { ($0, $0.defaultIntervalMs) })
    public var members: [Member] = []
    public var cluster = Cluster()
    public var hooks = Hooks()
    public var access = Access()
    public var snmp = SNMP()
    public var site = Site()

    public init() {}

    /// Reads and checks a configuration file. Every problem names the file and line.
    public static func load(path: String) throws -> BladeConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, line: 0, message: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: 0, message: "the file is not valid UTF-8")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> BladeConfig {
        let document: TOMLDocument
        do {
            document = try TOMLParser.parse(text)
        } catch let error as TOMLError {
            throw ConfigError(file: file, line: error.line, message: error.message)
        }
        var config = BladeConfig()
        config.file = file
        let reader = Reader(file: file, document: document)
        try reader.checkKnownTables(["blade", "chassis", "paths", "web", "hardware", "history", "sampling", "cluster",
                                     "hooks", "access", "snmp", "site"], arrays: ["member", "site_chassis"])

        try reader.table("blade", known: ["name", "address", "slot"]) { t in
            config.blade.name = try t.string("name", default: config.blade.name, pattern: .name)
            config.blade.address = try t.string("address", default: config.blade.address, pattern: .ipv4)
            config.blade.slot = try t.int("slot", default: config.blade.slot, range: 0...64)
        }
        try reader.table("chassis", known: ["id", "name", "site", "row", "rack", "shelf", "slots", "devices_command",
                                            "devices_simulated_dir", "power_command", "identify_command",
                                            "power_timeout_seconds", "power_boot_seconds", "power_supply_watts"]) { t in
            for (name, path) in [("power_command", \Chassis.powerCommand), ("identify_command", \Chassis.identifyCommand)] {
                let text = try t.string(name, default: "")
                if text.isEmpty { continue }
                do {
                    config.chassis[keyPath: path] = try CommandTemplate(text, placeholders: CommandTemplate.slotPlaceholders)
                } catch let problem as CommandTemplate.Problem {
                    throw t.fail(name, "'\(name)' \(problem.description)")
                }
            }
            config.chassis.powerTimeoutSeconds = try t.double("power_timeout_seconds", default: config.chassis.powerTimeoutSeconds,
                                                              range: 1...600)
            config.chassis.powerBootSeconds = try t.double("power_boot_seconds", default: config.chassis.powerBootSeconds,
                                                           range: 0...3600)
            config.chassis.powerSupplyWatts = try t.double("power_supply_watts", default: config.chassis.powerSupplyWatts,
                                                           range: 1...1_000_000)
            let command = try t.string("devices_command", default: "")
            config.chassis.devicesCommand = command.isEmpty ? nil : command
            let simulated = try t.string("devices_simulated_dir", default: "", pattern: .pathOrEmpty)
            config.chassis.devicesSimulatedDir = simulated.isEmpty ? nil : simulated
            config.chassis.id = try t.string("id", default: config.chassis.id, pattern: .name)
            config.chassis.name = try t.string("name", default: config.chassis.name)
            config.chassis.site = try t.string("site", default: "")
            config.chassis.row = try t.string("row", default: "")
            config.chassis.rack = try t.string("rack", default: "")
            config.chassis.shelf = try t.string("shelf", default: "")
            config.chassis.slots = try t.int("slots", default: config.chassis.slots, range: 1...16)
        }
        try reader.table("paths", known: ["state_dir", "runtime_dir"]) { t in
            config.paths.stateDir = try t.string("state_dir", default: config.paths.stateDir, pattern: .path)
            config.paths.runtimeDir = try t.string("runtime_dir", default: config.paths.runtimeDir, pattern: .path)
        }
        try reader.table("web", known: ["port", "threads", "templates_dir", "public_dir", "stale_after_seconds",
                                        "request_body_bytes_max"]) { t in
            config.web.port = try t.int("port", default: config.web.port, range: 1...65535)
            config.web.threads = try t.int("threads", default: config.web.threads, range: 1...256)
            config.web.templatesDir = try t.string("templates_dir", default: config.web.templatesDir, pattern: .path)
            config.web.publicDir = try t.string("public_dir", default: config.web.publicDir, pattern: .path)
            config.web.staleAfterSeconds = try t.double("stale_after_seconds", default: config.web.staleAfterSeconds,
                                                        range: 1...3600)
            config.web.requestBodyBytesMax = try t.int("request_body_bytes_max", default: config.web.requestBodyBytesMax,
                                                       range: 1024...(16 << 20))
        }
        try reader.table("hardware", known: ["proc_root", "sys_root", "simulated_dir", "serial", "model", "revision",
                                             "manufacturer", "filesystems_include", "filesystems_exclude"]) { t in
            config.hardware.filesystemsInclude = try t.strings("filesystems_include", pattern: .absolutePath)
            config.hardware.filesystemsExclude = try t.strings("filesystems_exclude", pattern: .absolutePath)
            config.hardware.procRoot = try t.string("proc_root", default: config.hardware.procRoot, pattern: .path)
            config.hardware.sysRoot = try t.string("sys_root", default: config.hardware.sysRoot, pattern: .path)
            let simulated = try t.string("simulated_dir", default: "", pattern: .pathOrEmpty)
            config.hardware.simulatedDir = simulated.isEmpty ? nil : simulated
            config.hardware.serial = try t.string("serial", default: "")
            config.hardware.model = try t.string("model", default: "")
            config.hardware.revision = try t.string("revision", default: "")
            config.hardware.manufacturer = try t.string("manufacturer", default: "")
        }
        try reader.table("history", known: ["raw_seconds", "aggregate_seconds"]) { t in
            config.history.rawSeconds = try t.int("raw_seconds", default: config.history.rawSeconds, range: 60...86_400)
            config.history.aggregateSeconds = try t.int("aggregate_seconds", default: config.history.aggregateSeconds,
                                                        range: 3_600...(7 * 86_400))
        }
        try reader.table("sampling", known: SamplingGroup.allCases.map { $0.rawValue + "_ms" }) { t in
            for group in SamplingGroup.allCases {
                config.intervalsMs[group] = try t.int(group.rawValue + "_ms", default: group.defaultIntervalMs,
                                                      range: 100...3_600_000)
            }
        }
        try reader.table("cluster", known: ["key_file", "fence_command", "fence_poll_ms", "down_after_ms", "join",
                                            "join_via"]) { t in
            config.cluster.join = try t.bool("join", default: false)
            let via = try t.string("join_via", default: "")
            if !via.isEmpty {
                guard let endpoint = IPv4.parseEndpoint(via[...], defaultPort: config.web.port) else {
                    throw t.fail("join_via", "must be a member's address and web port, like 127.0.1.2:8080 (got \(via))")
                }
                config.cluster.joinVia = endpoint
                config.cluster.join = true
            }
            let key = try t.string("key_file", default: "", pattern: .pathOrEmpty)
            config.cluster.keyFile = key.isEmpty ? nil : key
            let fence = try t.string("fence_command", default: "")
            config.cluster.fenceCommand = fence.isEmpty ? nil : fence
            config.cluster.fencePollMs = try t.int("fence_poll_ms", default: config.cluster.fencePollMs, range: 50...60_000)
            config.cluster.downAfterMs = try t.int("down_after_ms", default: config.cluster.downAfterMs, range: 500...600_000)
        }
        try reader.table("hooks", known: ["on_active", "on_standby", "on_no_quorum", "timeout_seconds"]) { t in
            func command(_ key: String) throws -> String? {
                let text = try t.string(key, default: "")
                return text.isEmpty ? nil : text
            }
            config.hooks.onActive = try command("on_active")
            config.hooks.onStandby = try command("on_standby")
            config.hooks.onNoQuorum = try command("on_no_quorum")
            config.hooks.timeoutSeconds = try t.double("timeout_seconds", default: config.hooks.timeoutSeconds, range: 0.1...600)
        }
        try reader.table("access", known: ["https_port", "names", "session_idle_seconds", "session_lifetime_seconds",
                                           "metrics_anonymous_networks", "certificate_file", "certificate_key_file",
                                           "reload_command"]) { t in
            let reload = try t.string("reload_command", default: "")
            config.access.reloadCommand = reload.isEmpty ? nil : reload
            config.access.httpsPort = try t.int("https_port", default: config.access.httpsPort, range: 0...65535)
            config.access.names = try t.strings("names", pattern: .hostName)
            config.access.sessionIdleSeconds = try t.int("session_idle_seconds", default: config.access.sessionIdleSeconds,
                                                         range: 60...86_400)
            config.access.sessionLifetimeSeconds = try t.int("session_lifetime_seconds",
                                                             default: config.access.sessionLifetimeSeconds,
                                                             range: 300...(30 * 86_400))
            config.access.metricsAnonymousNetworks = try t.strings("metrics_anonymous_networks", pattern: .cidr)
            let certificate = try t.string("certificate_file", default: "", pattern: .pathOrEmpty)
            let key = try t.string("certificate_key_file", default: "", pattern: .pathOrEmpty)
            if certificate.isEmpty != key.isEmpty {
                throw t.fail(certificate.isEmpty ? "certificate_key_file" : "certificate_file",
                             "certificate_file and certificate_key_file go together")
            }
            config.access.certificateFile = certificate.isEmpty ? nil : certificate
            config.access.certificateKeyFile = key.isEmpty ? nil : key
        }
        try reader.table("snmp", known: ["enabled", "agentx_socket", "refresh_ms", "reconnect_ms", "agent_address",
                                         "v2c_community_file", "inform_sinks", "persistent_dir"]) { t in
            config.snmp.enabled = try t.bool("enabled", default: false)
            config.snmp.agentxSocket = try t.string("agentx_socket", default: config.paths.runtimeDir + "/agentx.sock", pattern: .absolutePath)
            config.snmp.refreshMs = try t.int("refresh_ms", default: config.snmp.refreshMs, range: 100...60_000)
            config.snmp.reconnectMs = try t.int("reconnect_ms", default: config.snmp.reconnectMs, range: 100...60_000)
            let address = try t.string("agent_address", default: "")
            if !address.isEmpty {
                let parts = address.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 3, parts[0] == "udp", IPv4.parse(String(parts[1])) != nil,
                      let port = Int(parts[2]), (1...65535).contains(port) else {
                    throw t.fail("agent_address", "must be udp:ADDRESS:PORT, like udp:10.0.0.11:161 (got \(address))")
                }
            }
            config.snmp.agentAddress = address
            config.snmp.v2cCommunityFile = try t.string("v2c_community_file", default: "", pattern: .pathOrEmpty)
            let sinks = try t.strings("inform_sinks", pattern: .any)
            for sink in sinks where IPv4.parseEndpoint(sink[...], defaultPort: 162) == nil {
                throw t.fail("inform_sinks", "inform_sinks: each must be an IPv4 address with an optional port, like 10.0.0.5:162 (got \(sink))")
            }
            config.snmp.informSinks = sinks
            config.snmp.persistentDir = try t.string("persistent_dir", default: config.snmp.persistentDir, pattern: .path)
        }
        try reader.table("site", known: ["name", "key_file", "poll_seconds", "timeout_ms"]) { t in
            config.site.name = try t.string("name", default: "")
            let key = try t.string("key_file", default: "", pattern: .pathOrEmpty)
            config.site.keyFile = key.isEmpty ? nil : key
            config.site.pollSeconds = try t.double("poll_seconds", default: config.site.pollSeconds, range: 0.5...300)
            config.site.timeoutMs = try t.int("timeout_ms", default: config.site.timeoutMs, range: 50...30_000)
        }
        let siteChassis = reader.array("site_chassis")
        if siteChassis.count > 64 {
            throw ConfigError(file: file, line: siteChassis[64].line, message: "a site lists at most 64 other chassis")
        }
        for item in siteChassis {
            let t = TableReader(file: file, table: item, name: "[[site_chassis]]")
            try t.checkKnown(["name", "addresses", "port", "https_port"])
            let other = SiteChassis(name: try t.string("name", default: nil, pattern: .name),
                                    addresses: try t.strings("addresses", pattern: .ipv4),
                                    port: try t.int("port", default: 80, range: 1...65535),
                                    httpsPort: try t.int("https_port", default: 443, range: 1...65535))
            if other.addresses.isEmpty { throw t.fail("addresses", "[[site_chassis]] '\(other.name)' needs 'addresses'") }
            if config.site.chassis.contains(where: { $0.name == other.name }) {
                throw ConfigError(file: file, line: item.line, message: "site chassis '\(other.name)' is listed twice")
            }
            config.site.chassis.append(other)
        }
        if !config.site.chassis.isEmpty {
            if config.site.keyFile == nil {
                throw ConfigError(file: file, line: document.tables["site"]?.line ?? siteChassis.first?.line ?? 0,
                                  message: "other chassis of the site ([[site_chassis]]) need [site] key_file, the site's shared key")
            }
            // The ID travels in the site's credentials and tickets, whose fields '.' separates.
            if config.chassis.id.contains(".") {
                throw ConfigError(file: file, line: document.tables["chassis"]?.lines["id"] ?? 0,
                                  message: "a chassis of a site needs an id without '.'")
            }
        }
        for item in reader.array("member") {
            let t = TableReader(file: file, table: item, name: "[[member]]")
            try t.checkKnown(["name", "address", "slot", "priority", "witness", "port", "id"])
            let member = Member(
                name: try t.string("name", default: nil, pattern: .name),
                address: try t.string("address", default: nil, pattern: .ipv4),
                slot: try t.optionalInt("slot", range: 0...64),
                priority: try t.optionalInt("priority", range: -1000...1000),
                witness: try t.bool("witness", default: false),
                port: try t.int("port", default: 7400, range: 1...65535),
                id: try t.optionalInt("id", range: 1...100_000))
            if config.members.contains(where: { $0.name == member.name || $0.address == member.address }) {
                throw ConfigError(file: file, line: item.line, message: "member '\(member.name)' at \(member.address) is listed twice")
            }
            config.members.append(member)
        }
        if !config.members.isEmpty && !config.members.contains(where: { $0.name == config.blade.name }) {
            throw ConfigError(file: file, line: document.arrays["member"]?.first?.line ?? 0,
                              message: "this blade ('\(config.blade.name)') is not in the [[member]] list")
        }
        if config.cluster.joinVia != nil && config.cluster.keyFile == nil {
            throw ConfigError(file: file, line: document.tables["cluster"]?.lines["join_via"] ?? 0,
                              message: "joining a chassis (join_via) needs [cluster] key_file, the chassis' key")
        }
        if config.members.count > 1 && config.cluster.keyFile == nil {
            throw ConfigError(file: file, line: document.tables["cluster"]?.line ?? document.arrays["member"]?.first?.line ?? 0,
                              message: "a chassis of several members needs [cluster] key_file")
        }
        guard config.blade.slot <= config.chassis.slots else {
            throw ConfigError(file: file, line: document.tables["blade"]?.lines["slot"] ?? 0,
                              message: "slot \(config.blade.slot) is beyond the chassis' \(config.chassis.slots) slots")
        }
        return config
    }
}

/// The value shapes a string setting may be restricted to.
enum StringPattern {
    case any, name, ipv4, path, pathOrEmpty, absolutePath, hostName, cidr

    func check(_ value: String) -> String? {
        switch self {
        case .any:
            return value.utf8.count <= 256 ? nil : "is longer than 256 bytes"
        case .name:
            let ok = !value.isEmpty && value.utf8.count <= 64
                && value.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
            return ok ? nil : "must be 1 to 64 letters, digits, '-', '_' or '.'"
        case .ipv4:
            return IPv4.parse(value) == nil ? "is not an IPv4 address like 127.0.1.1" : nil
        case .hostName:
            let labels = value.split(separator: ".", omittingEmptySubsequences: false)
            let ok = !value.isEmpty && value.utf8.count <= 253 && labels.allSatisfy { label in
                !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                    && label.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
            }
            return ok ? nil : "must be a DNS name or an IPv4 address, like chassis.example.net"
        case .cidr:
            return IPv4.parseNetwork(value) == nil ? "is not a network like 10.0.0.0/8 or an address" : nil
        case .absolutePath:
            if !value.hasPrefix("/") { return "must be an absolute path, like /var" }
            return StringPattern.path.check(value)
        case .path, .pathOrEmpty:
            if value.isEmpty { return self == .pathOrEmpty ? nil : "must not be empty" }
            if value.utf8.count > 200 { return "is longer than 200 bytes" }
            if value.contains("\0") { return "contains a NUL byte" }
            return nil
        }
    }
}

struct Reader {
    let file: String
    let document: TOMLDocument

    func checkKnownTables(_ tables: [String], arrays: [String]) throws {
        for (name, table) in document.tables where !tables.contains(name) {
            throw ConfigError(file: file, line: table.line, message: "unknown section [\(name)]")
        }
        for (name, items) in document.arrays where !arrays.contains(name) {
            throw ConfigError(file: file, line: items.first?.line ?? 0, message: "unknown section [[\(name)]]")
        }
        if let key = document.root.values.keys.sorted().first {
            throw ConfigError(file: file, line: document.root.lines[key] ?? 0,
                              message: "setting '\(key)' must be inside a [section]")
        }
    }

    func table(_ name: String, known: [String], _ body: (TableReader) throws -> Void) throws {
        let reader = TableReader(file: file, table: document.tables[name] ?? TOMLTable(), name: "[\(name)]")
        try reader.checkKnown(known)
        try body(reader)
    }

    func array(_ name: String) -> [TOMLTable] { document.arrays[name] ?? [] }
}

struct TableReader {
    let file: String
    let table: TOMLTable
    let name: String

    func checkKnown(_ known: [String]) throws {
        for key in table.values.keys.sorted() where !known.contains(key) {
            throw fail(key, "unknown setting '\(key)' in \(name) (known: \(known.joined(separator: ", ")))")
        }
    }

    func fail(_ key: String, _ message: String) -> ConfigError {
        ConfigError(file: file, line: table.lines[key] ?? table.line, message: message)
    }

    func string(_ key: String, default fallback: String?, pattern: StringPattern = .any) throws -> String {
        guard let value = table.values[key] else {
            if let fallback { return fallback }
            throw ConfigError(file: file, line: table.line, message: "\(name) needs '\(key)'")
        }
        guard case .string(let text) = value else { throw fail(key, "'\(key)' must be a string, not \(value.typeName)") }
        if let problem = pattern.check(text) { throw fail(key, "'\(key)' \(problem)") }
        return text
    }

    /// An array of strings, each checked against `pattern`; empty when absent.
    func strings(_ key: String, pattern: StringPattern) throws -> [String] {
        guard let value = table.values[key] else { return [] }
        guard case .array(let items) = value else { throw fail(key, "'\(key)' must be an array of strings, not \(value.typeName)") }
        guard items.count <= 64 else { throw fail(key, "'\(key)' has more than 64 entries") }
        return try items.map { item in
            guard case .string(let text) = item else { throw fail(key, "'\(key)' must hold strings only, not \(item.typeName)") }
            if let problem = pattern.check(text) { throw fail(key, "'\(key)': \"\(text.prefix(64))\" \(problem)") }
            return text
        }
    }

    func int(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        try optionalInt(key, range: range) ?? fallback
    }

    func optionalInt(_ key: String, range: ClosedRange<Int>) throws -> Int? {
        guard let value = table.values[key] else { return nil }
        guard case .integer(let number) = value else { throw fail(key, "'\(key)' must be an integer, not \(value.typeName)") }
        guard range.contains(number) else {
            throw fail(key, "'\(key)' is \(number); it must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    func double(_ key: String, default fallback: Double, range: ClosedRange<Double>) throws -> Double {
        guard let value = table.values[key] else { return fallback }
        let number: Double
        switch value {
        case .integer(let integer): number = Double(integer)
        case .float(let float): number = float
        default: throw fail(key, "'\(key)' must be a number, not \(value.typeName)")
        }
        guard range.contains(number) else {
            throw fail(key, "'\(key)' is \(number); it must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = table.values[key] else { return fallback }
        guard case .bool(let flag) = value else { throw fail(key, "'\(key)' must be true or false, not \(value.typeName)") }
        return flag
    }
}

extension BladeConfig {
    /// The names this blade's HTTPS certificate carries: its own address and the chassis'
    /// configured names (DNS names lower-cased, addresses as written), each sorted. The engine
    /// compares them with its certificate's notes; `chassisctl certificate` issues for them.
    public var certificateNames: (dns: [String], ip: [String]) {
        let addresses = access.names.filter { IPv4.parse($0) != nil }
        return (access.names.filter { IPv4.parse($0) == nil }.map { $0.lowercased() }.sorted(),
                Array(Set([blade.address] + addresses)).sorted())
    }

    /// The address a browser uses for a member: HTTPS on `access.https_port` (the port left out
    /// when it is 443), or plain HTTP on `web.port` when HTTPS is off.
    public func publicURL(address: String) -> String {
        switch access.httpsPort {
        case 0: return web.port == 80 ? "http://\(address)" : "http://\(address):\(web.port)"
        case 443: return "https://\(address)"
        default: return "https://\(address):\(access.httpsPort)"
        }
    }
}

extension BladeConfig {
    /// Loads the file, or stops the program with `PROGRAM: FILE:LINE: problem` on standard error
    /// and exit status 2: what every Chassis Manager program does with a broken configuration.
    public static func loadOrExit(path: String, program: String) -> BladeConfig {
        do {
            return try load(path: path)
        } catch {
            fputs("\(program): \(error)\n", stderr)
            exit(2)
        }
    }
}

extension BladeConfig {
    /// This blade's configuration once it has learnt the chassis' members from one of them
    /// (`join_via`): every member the view lists, with its identity and peer port, and this blade
    /// itself as its own file describes it (or with the defaults). Members the view does not
    /// describe well enough to reach (no peer port, not an IPv4 address) are left out.
    public func joining(_ view: ClusterView) -> BladeConfig {
        var joined = self
        let me = members.first { $0.name == blade.name }
            ?? Member(name: blade.name, address: blade.address, slot: blade.slot, priority: nil, witness: false, port: 7400)
        var learnt: [Member] = [me]
        for member in view.members where member.name != blade.name && member.address != blade.address {
            guard let port = member.peerPort, (1...65535).contains(port), IPv4.parse(member.address) != nil,
                  StringPattern.name.check(member.name) == nil,
                  !learnt.contains(where: { $0.name == member.name || $0.address == member.address }) else { continue }
            learnt.append(Member(name: member.name, address: member.address, slot: member.slotID, priority: nil,
                                 witness: member.role == .witness, port: port, id: member.memberID))
        }
        joined.members = learnt
        joined.cluster.join = true
        return joined
    }
}
