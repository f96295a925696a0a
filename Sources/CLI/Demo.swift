import ChassisKeys
import Access
import Config
import Control
import Foundation
import Metrics
import Model
import Plumbing
#if canImport(Glibc)
import Glibc
#endif

/// A simulated chassis on this machine: blade i on 127.0.1.i, each with its own engine (over a
/// simulated hwmon tree read by the real libsensors in a private mount namespace), web app and
/// nginx on port 8080, and its own state directory.
struct DemoBlade: Codable {
    var index: Int
    var address: String
    var directory: String
    var runtimeDirectory: String
    var engine: Int32 = 0
    var web: Int32 = 0
    var nginx: Int32 = 0
    /// snmpd (the master agent) and chassis-snmp (the subagent), when the demo runs SNMP.
    var snmpd: Int32 = 0
    var snmpAgent: Int32 = 0
    /// A witness runs only an engine: it votes and keeps the log.
    var witness: Bool = false
    /// Added to a running chassis: it waits for the active manager to add it.
    var joining: Bool = false
    /// Added by naming one member only (`join_via`): that blade's index.
    var joinVia: Int?

    var configPath: String { directory + "/blade.toml" }
    /// On the tmpfs: the simulation rewrites its files every sample.
    var simulatedDirectory: String { runtimeDirectory + "/sim" }
    var nginxPrefix: String { directory + "/nginx" }
    var name: String { witness ? "witness" : "blade\(index)" }
    /// snmpd's configuration, persistent directory and AgentX socket, in the blade's directory.
    var snmpDirectory: String { directory + "/snmp" }
    var agentxSocket: String { snmpDirectory + "/agentx.sock" }
    var processes: [Int32] { [engine, web, nginx, snmpd, snmpAgent] }
}

/// Several demo chassis as one site: each its own cluster on 127.0.N.x, in its own directory
/// (the first in the demo's, the others in `chassis-N` under it), sharing `site.key`.
struct DemoSite: Codable {
    struct Chassis: Codable {
        var number: Int
        var directory: String
        var blades: Int
        var name: String { "chassis-\(number)" }
    }

    var keyFile: String
    var chassis: [Chassis]

    /// The `[site]` section and a `[[site_chassis]]` for every chassis but `number`.
    func configuration(for number: Int, port: Int, tlsPort: Int) -> String {
        "[site]\nname = \"Lab\"\nkey_file = \"\(keyFile)\"\npoll_seconds = 1\n\n" + chassis.filter { $0.number != number }.map { other in
            let addresses = (1...other.blades).map { "\"\(Demo.address(of: $0, chassis: other.number))\"" }.joined(separator: ", ")
            return "[[site_chassis]]\nname = \"\(other.name)\"\naddresses = [\(addresses)]\nport = \(port)\nhttps_port = \(tlsPort)\n\n"
        }.joined()
    }
}

struct DemoState: Codable {
    var root: String
    var directory: String
    var port: Int
    /// HTTPS port of every blade's nginx (absent in a demo.json of an earlier version).
    var tlsPortSetting: Int?
    var tlsPort: Int { tlsPortSetting ?? Demo.defaultTLSPort }
    var peerPort: Int = Demo.defaultPeerPort
    /// Which demo chassis this is (its blades are 127.0.N.i; absent in a demo.json of an earlier version).
    var chassisSetting: Int?
    var chassis: Int { chassisSetting ?? 1 }
    /// The static files as nginx serves them: a copy in the demo's directory (see `publishStaticFiles`).
    var publicDirectory: String { directory + "/public" }
    var slots: Int
    var blades: [DemoBlade]
    /// SNMP: every blade's snmpd on UDP port `snmpPort` of its own address (nil: no SNMP);
    /// informs to `snmpInformSink` (`HOST:PORT`); SNMPv2c read-only only with `snmpV2c`.
    var snmpPort: Int?
    var snmpInformSink: String?
    var snmpV2c: Bool?
    /// The demo's site, when it started several chassis (`--chassis N`).
    var site: DemoSite?

    static func path(in directory: String) -> String { directory + "/demo.json" }

    static func load(directory: String) throws -> DemoState {
        guard let data = FileManager.default.contents(atPath: path(in: directory)) else {
            throw DemoError("no demo running in \(directory) (no demo.json); start one with: chassisctl demo up")
        }
        return try JSONDecoder().decode(DemoState.self, from: data)
    }

    func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: DemoState.path(in: directory)), options: .atomic)
    }

    func blade(_ index: Int) throws -> DemoBlade {
        guard let blade = blades.first(where: { $0.index == index }) else {
            throw DemoError("no blade \(index) in this demo (blades: \(blades.map { String($0.index) }.joined(separator: ", ")))")
        }
        return blade
    }
}

struct DemoError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Demo {
    static let defaultDirectory = "/tmp/chassis-demo"
    static let readyTimeoutSeconds = 30.0

    /// Blade `index` of demo chassis `chassis` (1 by default): 127.0.CHASSIS.INDEX.
    static func address(of index: Int, chassis: Int = 1) -> String { "127.0.\(chassis).\(index)" }
    /// The chassis ID of demo chassis `chassis`: 660007770088 for the first, then …089, …090.
    static func chassisID(_ chassis: Int) -> String { String(660_007_770_087 + chassis) }
    /// The witness of a two-blade demo lives off the blades' addresses.
    static let witnessIndex = 250
    static let defaultPeerPort = 7400
    static let defaultTLSPort = 8443
    /// The customer the demo creates, so that a newcomer sees a customer's view at once.
    static let customerName = "customer-a"
    static let customerSlots = [2, 3]

    static func up(blades count: Int, slots: Int?, directory: String, root: String, port: Int, peerPort: Int,
                   tlsPort: Int = defaultTLSPort, witness: Bool = false, chassis: Int = 1, site: DemoSite? = nil,
                   adminPassword: String? = nil, snmp: SNMPOptions? = nil) throws -> DemoState {
        guard (1...16).contains(count) else { throw DemoError("--blades must be between 1 and 16") }
        guard (1...200).contains(chassis) else { throw DemoError("--chassis-number must be between 1 and 200") }
        if let existing = try? DemoState.load(directory: directory),
           existing.blades.contains(where: { Processes.isAlive($0.engine) || Processes.isAlive($0.nginx) }) {
            throw DemoError("a demo is already running in \(directory); stop it with: chassisctl demo down")
        }
        for tool in ["nginx", "unshare"] where Processes.which(tool) == nil {
            throw DemoError("\(tool) is not installed; run: make deps")
        }
        let slotCount = min(16, max(count, slots ?? max(count, 8)))
        let runtimeRoot = "/dev/shm/chassis-demo-\(getuid())" + directory.replacingOccurrences(of: "/", with: "_")
        try? FileManager.default.removeItem(atPath: runtimeRoot)
        // A new chassis: no state from an earlier demo in the same directory.
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where entry.hasPrefix("blade") || entry == "witness" || entry == "hooks.log" || entry == "chassis" {
            try? FileManager.default.removeItem(atPath: directory + "/" + entry)
        }
        var state = DemoState(root: root, directory: directory, port: port, tlsPortSetting: tlsPort, peerPort: peerPort,
                              slots: slotCount, blades: [])
        state.chassisSetting = chassis
        if let snmp {
            guard Processes.which("snmpd") != nil else { throw DemoError("snmpd is not installed; run: make deps") }
            state.snmpPort = snmp.port
            state.snmpInformSink = snmp.informSink
            state.snmpV2c = snmp.v2c
        }
        state.site = site
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try publishStaticFiles(from: root + "/Public", into: state.publicDirectory)
        // One random cluster key for the whole chassis, readable by its owner only.
        try writeRandomKey(to: directory + "/cluster.key")
        // The simulated midplane: the blades it reports powered off, one name a line.
        FileManager.default.createFile(atPath: directory + "/midplane-off", contents: Data())
        for index in 1...count {
            state.blades.append(DemoBlade(index: index, address: address(of: index, chassis: chassis), directory: "\(directory)/blade\(index)",
                                          runtimeDirectory: "\(runtimeRoot)/blade\(index)"))
        }
        if witness {
            state.blades.append(DemoBlade(index: witnessIndex, address: address(of: witnessIndex, chassis: chassis),
                                          directory: "\(directory)/witness", runtimeDirectory: "\(runtimeRoot)/witness",
                                          witness: true))
        }
        if state.snmpPort != nil { try writeSNMPCredentials(state: state) }
        for blade in state.blades {
            try prepare(blade, state: state)
        }

        try state.save()
        // Every engine first, together, so that the first election sees them all.
        for position in state.blades.indices {
            try startEngine(&state.blades[position], state: state)
        }
        try state.save()
        for position in state.blades.indices {
            try startWeb(&state.blades[position], state: state)
            try state.save()
        }
        try waitUntilReady(state.blades, port: port)
        let active = try waitForActive(state: state, seconds: 15)
        try waitForCertificates(state: state)
        try createUsers(state: state, activeAddress: active, adminPassword: adminPassword)
        if state.snmpPort != nil {
            for position in state.blades.indices where !state.blades[position].witness {
                try startSNMP(&state.blades[position], state: state)
                try state.save()
            }
        }
        return state
    }

    /// Waits until every blade serves a certificate of the chassis' authority (the first active
    /// manager creates it), then copies the authority's certificate to `ca.crt` in the demo
    /// directory: the one file a browser needs to trust every blade.
    static func waitForCertificates(state: DemoState) throws {
        let blades = state.blades.filter { !$0.witness }
        try waitFor(seconds: 20, what: "the chassis certificate authority on every blade") {
            blades.allSatisfy { FileManager.default.fileExists(atPath: $0.directory + "/state/tls/ca.crt") }
        }
        guard let first = blades.first, let authority = FileManager.default.contents(atPath: first.directory + "/state/tls/ca.crt") else {
            throw DemoError("no certificate authority was written")
        }
        FileManager.default.createFile(atPath: state.directory + "/ca.crt", contents: authority, attributes: [.posixPermissions: 0o644])
        // nginx reloads on SIGHUP; give the last one a moment to take the new certificate.
        usleep(300_000)
    }

    /// Creates the first administrator and a customer with random passwords, written to
    /// `admin-password` and `customer-a-password` (mode 0600) in the demo directory.
    static func createUsers(state: DemoState, activeAddress: String, adminPassword: String? = nil) throws {
        guard let blade = state.blades.first(where: { $0.address == activeAddress }) else {
            throw DemoError("the active manager \(activeAddress) is not a blade of this demo")
        }
        let config = try BladeConfig.load(path: blade.configPath)
        let client = ControlClient(socketPath: config.paths.controlSocket)
        let actor = Actor(user: "chassisctl demo", role: nil, address: "console", via: "chassisctl")
        for (name, role, scope, file) in [("admin", Role.admin, nil as AccessScope?, "admin-password"),
                                          (customerName, Role.customer, AccessScope(slots: customerSlots), "customer-a-password")] {
            let password = role == .admin ? adminPassword ?? randomPassword() : randomPassword()
            let hash = try PasswordHash.make(password: password)
            var lastError = ""
            try waitFor(seconds: 10, what: "the engine to record user \(name) (\(lastError))") {
                let reply = try client.send(.addUser(name: name, role: role, scope: scope, passwordHash: hash), actor: actor)
                lastError = reply.error ?? ""
                return reply.ok
            }
            guard FileManager.default.createFile(atPath: state.directory + "/" + file, contents: Data((password + "\n").utf8),
                                                 attributes: [.posixPermissions: 0o600]) else {
                throw DemoError("cannot write \(state.directory)/\(file)")
            }
        }
    }

    /// 32 random bytes in hex, in a file only its owner reads: a cluster key, a site key.
    static func writeRandomKey(to path: String) throws {
        var generator = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        try ChassisSecret.writeAtomically(path: path, contents: Array((key + "\n").utf8), mode: 0o600)
    }

    /// 20 letters and digits (about 119 bits), without look-alikes.
    static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var random = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] })
    }

    /// nginx started by root (without a `user` directive, as the demo starts it) runs its workers
    /// as `nobody`: the runtime directory takes nobody's group, so that the web app's FastCGI
    /// socket (0660, the directory's group) admits them and no other user. Started by anyone
    /// else, nginx's workers are that user already.
    static func shareWithNginxWorkers(_ directory: String) {
        guard getuid() == 0, let nobody = getpwnam("nobody") else { return }
        _ = chown(directory, uid_t(bitPattern: -1), nobody.pointee.pw_gid)
    }

    /// A copy of the checkout's static files that nginx's workers can read: started by root,
    /// they run as `nobody`, who may not enter a checkout under `/root` (a stock Debian's root is
    /// 0700). The demo's directory and the copy are world-readable; its secrets are 0600 files.
    static func publishStaticFiles(from source: String, into destination: String) throws {
        let fileManager = FileManager.default
        try? fileManager.removeItem(atPath: destination)
        try fileManager.copyItem(atPath: source, toPath: destination)
        chmod((destination as NSString).deletingLastPathComponent, 0o755)
        chmod(destination, 0o755)
        for relative in fileManager.subpaths(atPath: destination) ?? [] {
            let path = destination + "/" + relative
            var isDirectory: ObjCBool = false
            _ = fileManager.fileExists(atPath: path, isDirectory: &isDirectory)
            chmod(path, isDirectory.boolValue ? 0o755 : 0o644)
        }
    }

    /// Writes a blade's configuration file and nginx configuration.
    static func prepare(_ blade: DemoBlade, state: DemoState) throws {
        let fileManager = FileManager.default
        for path in [blade.directory, blade.directory + "/state", blade.simulatedDirectory + "/class", blade.nginxPrefix,
                     blade.runtimeDirectory] {
            try fileManager.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        shareWithNginxWorkers(blade.runtimeDirectory)
        let config = """
        # Written by chassisctl demo up; see config/blade.example.toml for every setting.
        [blade]
        name = "\(blade.name)"
        address = "\(blade.address)"
        slot = \(blade.witness ? 0 : blade.index)

        [chassis]
        id = "\(chassisID(state.chassis))"
        name = "\(state.site == nil ? "Demo chassis" : "Demo chassis \(state.chassis)")"
        site = "Lab"
        row = "A"
        rack = "12"
        shelf = "3"
        slots = \(state.slots)
        devices_simulated_dir = "\(state.directory)/chassis"
        power_command = "'\(Processes.executableDirectory)/chassisctl' demo midplane --dir '\(state.directory)' {slot} {action}"
        identify_command = "'\(Processes.executableDirectory)/chassisctl' demo midplane --dir '\(state.directory)' {slot} identify-{action}"

        [paths]
        state_dir = "\(blade.directory)/state"
        runtime_dir = "\(blade.runtimeDirectory)"

        [web]
        port = \(state.port)
        templates_dir = "\(state.root)/Templates"
        public_dir = "\(state.publicDirectory)"

        [access]
        https_port = \(state.tlsPort)
        reload_command = "kill -HUP $(cat \(blade.nginxPrefix)/nginx.pid)"

        [hardware]
        simulated_dir = "\(blade.witness ? "" : blade.simulatedDirectory)"

        [snmp]
        enabled = \(state.snmpPort != nil && !blade.witness)
        agentx_socket = "\(blade.agentxSocket)"
        refresh_ms = 500
        reconnect_ms = 500
        agent_address = "udp:\(blade.address):\(state.snmpPort ?? 161)"
        persistent_dir = "\(blade.snmpDirectory)/persist"
        inform_sinks = [\(state.snmpInformSink.map { "\"\($0)\"" } ?? "")]

        [cluster]
        join = \(blade.joining)
        \(blade.joinVia.map { "join_via = \"\(address(of: $0, chassis: state.chassis)):\(state.port)\"" } ?? "")
        key_file = "\(state.directory)/cluster.key"
        fence_command = "cat \(state.directory)/midplane-off"
        down_after_ms = 3000

        [hooks]
        on_active = "echo \\"$(date +%T.%N) $CHASSIS_BLADE active in term $CHASSIS_TERM (was $CHASSIS_OLD_ACTIVE)\\" >> \(state.directory)/hooks.log"
        on_standby = "echo \\"$(date +%T.%N) $CHASSIS_BLADE standby, active $CHASSIS_NEW_ACTIVE, term $CHASSIS_TERM\\" >> \(state.directory)/hooks.log"
        on_no_quorum = "echo \\"$(date +%T.%N) $CHASSIS_BLADE no quorum: $CHASSIS_REASON\\" >> \(state.directory)/hooks.log"

        """ + (state.site?.configuration(for: state.chassis, port: state.port, tlsPort: state.tlsPort) ?? "")
          + state.blades.filter { blade.joinVia == nil || $0.index == blade.index && !$0.witness }.map { member in
            """
            [[member]]
            name = "\(member.name)"
            address = "\(member.address)"
            \(member.witness ? "witness = true" : "slot = \(member.index)")
            port = \(state.peerPort)

            """
        }.joined()
        try config.write(toFile: blade.configPath, atomically: true, encoding: .utf8)
        if blade.witness { return }
        // The same values an installed blade's `chassisctl nginx-config` gives, but for the names
        // (every blade's address, whatever a joining blade's file lists) and the authority's copy
        // the demo keeps for its clients.
        let bladeConfig = try BladeConfig.parse(config, file: blade.configPath)
        try NginxTemplate.write(
            templatePath: state.root + "/nginx/blade.conf.template",
            values: NginxTemplate.values(config: bladeConfig, prefix: blade.nginxPrefix,
                                         caCertificate: state.directory + "/ca.crt",
                                         serverNames: state.blades.filter { !$0.witness }.map(\.address)),
            prefix: blade.nginxPrefix)
    }

    /// Starts a blade's three processes: the engine first (it creates the databases), then the
    /// web app, then nginx.
    static func start(_ blade: inout DemoBlade, state: DemoState) throws {
        try startEngine(&blade, state: state)
        try startWeb(&blade, state: state)
        if state.snmpPort != nil && !blade.witness { try startSNMP(&blade, state: state) }
    }

    static func startEngine(_ blade: inout DemoBlade, state: DemoState) throws {
        let engine = Processes.executableDirectory + "/chassis-engine"
        guard FileManager.default.isExecutableFile(atPath: engine) else { throw DemoError("\(engine) is not built; run: make build") }
        guard let unshare = Processes.which("unshare") else { throw DemoError("unshare is needed; run: make deps") }
        try FileManager.default.createDirectory(atPath: blade.runtimeDirectory, withIntermediateDirectories: true)
        // A killed engine leaves its socket behind; the new one's appearing is the sign it is up.
        try? FileManager.default.removeItem(atPath: blade.runtimeDirectory + "/engine.sock")
        if blade.witness {
            blade.engine = try ProcessRunner.spawnDetached([engine, "--config", blade.configPath, "--witness"],
                                               logPath: blade.directory + "/engine.log")
        } else {
            try FileManager.default.createDirectory(atPath: blade.simulatedDirectory + "/class", withIntermediateDirectories: true)
            // The engine runs in a private mount namespace where the simulated tree is /sys/class,
            // so the real libsensors reads it exactly as it reads hardware.
            let namespaceFlags = geteuid() == 0 ? "-m" : "-Urm"
            blade.engine = try ProcessRunner.spawnDetached(
                [unshare, namespaceFlags, "--propagation", "private", "--", "/bin/sh", "-c",
                 #"mount --bind "$0" /sys/class && exec "$@""#, blade.simulatedDirectory + "/class",
                 engine, "--config", blade.configPath],
                logPath: blade.directory + "/engine.log")
        }
    }

    static func startWeb(_ blade: inout DemoBlade, state: DemoState) throws {
        let name = blade.name
        let runtime = blade.runtimeDirectory
        try waitFor(seconds: 15, what: "\(name) engine control socket") {
            FileManager.default.fileExists(atPath: runtime + "/engine.sock")
        }
        if blade.witness { return }
        let web = Processes.executableDirectory + "/chassis-web"
        guard FileManager.default.isExecutableFile(atPath: web) else { throw DemoError("\(web) is not built; run: make build") }
        guard let nginx = Processes.which("nginx") else { throw DemoError("nginx is needed; run: make deps") }
        let certificate = blade.directory + "/state/tls/blade.crt"
        try waitFor(seconds: 10, what: "\(name)'s certificate") { FileManager.default.fileExists(atPath: certificate) }
        blade.web = try ProcessRunner.spawnDetached([web, "--config", blade.configPath], logPath: blade.directory + "/web.log")
        try waitFor(seconds: 10, what: "\(name) web app socket") {
            FileManager.default.fileExists(atPath: runtime + "/web.sock")
        }
        blade.nginx = try ProcessRunner.spawnDetached(
            [nginx, "-p", blade.nginxPrefix + "/", "-c", blade.nginxPrefix + "/nginx.conf", "-e", blade.nginxPrefix + "/error.log",
             "-g", "daemon off;"],
            logPath: blade.directory + "/nginx.log")
    }

    static func waitFor(seconds: Double, what: String, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(50_000)
        }
        throw DemoError("timed out after \(Int(seconds)) s waiting for \(what)")
    }

    static func waitUntilReady(_ blades: [DemoBlade], port: Int) throws {
        for blade in blades where !blade.witness {
            // /health/active answers over plain HTTP: 200 on the active manager, 503 elsewhere.
            try waitFor(seconds: readyTimeoutSeconds, what: "http://\(blade.address):\(port)/health/active") {
                try checkAlive(blade)
                let status = (try? HTTPGet.get(host: blade.address, port: port, path: "/health/active"))?.status
                return status == 200 || status == 503
            }
        }
    }

    /// Fails at once, with the end of its log, when one of a blade's processes died (a port
    /// already taken, a broken configuration) instead of waiting out the timeout.
    static func checkAlive(_ blade: DemoBlade) throws {
        for (name, pid, log) in [("engine", blade.engine, "engine.log"), ("web app", blade.web, "web.log"),
                                 ("nginx", blade.nginx, "nginx/error.log")] where pid > 0 {
            Processes.reap(pid)
            if !Processes.isAlive(pid) {
                let text = (try? String(contentsOfFile: blade.directory + "/" + log, encoding: .utf8)) ?? ""
                let tail = text.split(separator: "\n").suffix(5).joined(separator: "\n")
                throw DemoError("\(blade.name)'s \(name) (pid \(pid)) exited; the end of its log:\n\(tail)")
            }
        }
    }

    /// Every process of the blade, children included (nginx workers outlive a killed master).
    static func processTree(_ pid: Int32) -> [Int32] {
        guard pid > 0 else { return [] }
        var result = [pid]
        var frontier = [pid]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var parents: [Int32: Int32] = [:]
        for entry in entries {
            guard let child = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, let parent = Int32(fields[1]) { parents[child] = parent }
        }
        while let next = frontier.popLast() {
            for (child, parent) in parents where parent == next && !result.contains(child) {
                result.append(child)
                frontier.append(child)
            }
        }
        return result
    }

    static func stopBlade(_ blade: DemoBlade) {
        // SNMP and nginx first (no new requests), then the web app, then the engine.
        for pid in [blade.snmpAgent, blade.snmpd, blade.nginx, blade.web, blade.engine] {
            let tree = processTree(pid)
            Processes.stop(pid, graceSeconds: 5)
            for child in tree.dropFirst() { Processes.stop(child, graceSeconds: 1) }
        }
    }

    static func killBlade(_ blade: DemoBlade) {
        for pid in blade.processes {
            for member in processTree(pid) where Processes.isAlive(member) {
                kill(member, SIGKILL)
            }
        }
        for pid in blade.processes { Processes.reap(pid) }
        // SIGKILL is delivered, not yet done: the sockets are free only once the processes are
        // gone, and a blade started again at once must be able to bind them.
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline && blade.processes.contains(where: { Processes.isAlive($0) }) {
            usleep(10_000)
        }
    }

    /// Starts `count` chassis as one site (numbers `first`, `first + 1` …): the first in
    /// `directory`, the others in `directory/chassis-N`, one admin password for all (the same
    /// user on every chassis, so that logging in once is enough to follow the site page's links).
    static func upSite(count: Int, first: Int, blades: Int, slots: Int?, directory: String, root: String, port: Int,
                       peerPort: Int, tlsPort: Int, witness: Bool) throws -> [DemoState] {
        guard (2...8).contains(count) else { throw DemoError("--chassis must be between 1 and 8") }
        guard first + count - 1 <= 200 else { throw DemoError("--chassis-number plus --chassis must stay within 200") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let numbers = Array(first..<(first + count))
        let site = DemoSite(keyFile: directory + "/site.key", chassis: numbers.map { number in
            DemoSite.Chassis(number: number, directory: number == first ? directory : "\(directory)/chassis-\(number)", blades: blades)
        })
        try writeRandomKey(to: site.keyFile)
        let password = randomPassword()
        var states: [DemoState] = []
        for chassis in site.chassis {
            do {
                states.append(try up(blades: blades, slots: slots, directory: chassis.directory, root: root, port: port,
                                     peerPort: peerPort, tlsPort: tlsPort, witness: witness, chassis: chassis.number, site: site,
                                     adminPassword: password))
            } catch {
                for started in states.reversed() { try? down(directory: started.directory) }
                throw error
            }
        }
        return states
    }

    static func down(directory: String) throws {
        let state = try DemoState.load(directory: directory)
        // Stopping the site's first chassis stops the others first; any other stops only itself.
        let others = state.site.map { site in site.chassis.first?.directory == directory ? Array(site.chassis.dropFirst()) : [] } ?? []
        for other in others {
            try? down(directory: other.directory)
        }
        healAll(state: state)
        for blade in state.blades { stopBlade(blade) }
        // The blades' runtime directories (metrics databases, sockets) live on the tmpfs.
        if let runtime = state.blades.first?.runtimeDirectory {
            try? FileManager.default.removeItem(atPath: (runtime as NSString).deletingLastPathComponent)
        }
        try? FileManager.default.removeItem(atPath: DemoState.path(in: directory))
    }

    static func setSensor(state: DemoState, blade index: Int, key: String, value: String) throws {
        if index == 0 {
            // Blade 0 is the chassis itself: its power supplies, fans and midplane.
            try ChassisDevicesCollector.setPin(key, value == "release" ? nil : value, in: state.directory + "/chassis")
            return
        }
        let blade = try state.blade(index)
        if value == "release" {
            try SimulatedHardware.removePin(key, in: blade.simulatedDirectory)
        } else if key == SimulatedHardware.powerSupplyKey && (value == "ok" || value == "failed") {
            try SimulatedHardware.setPowerSupply(ok: value == "ok", in: blade.simulatedDirectory)
        } else {
            guard let pin = SimulatedHardware.PinValue(value) else {
                throw DemoError("value must be a number, 'fault' or 'release' (got \(value))")
            }
            try SimulatedHardware.setPin(key, pin, in: blade.simulatedDirectory)
        }
    }
}

/// Renders the nginx template by plain replacement of `{{name}}` placeholders; a placeholder
/// left unreplaced is an error in the template, caught by the tests.
extension Demo {
    /// A new module in the same slot: the simulated blade reads its serial number from this file
    /// when it starts, as a real blade reads its own from DMI.
    static func replaceModule(_ blade: DemoBlade, serial: String?) throws {
        let newSerial = serial ?? "CMR\(String(UInt32.random(in: 10_000_000...99_999_999)))"
        guard !newSerial.isEmpty, newSerial.utf8.count <= 64,
              newSerial.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw DemoError("a serial number is 1 to 64 letters, digits or '-'")
        }
        try (newSerial + "\n").write(toFile: blade.simulatedDirectory + "/module-serial", atomically: true, encoding: .utf8)
        print("\(blade.name): module replaced, new serial \(newSerial)")
    }
}

extension Demo {
    static let nftTable = "chassis_demo"

    /// Cuts every packet of the engines' peer protocol between a blade's address and the other
    /// blades' (a real packet-level partition on loopback, with nftables). Other traffic (a
    /// browser on 127.0.0.1, another demo on other ports) still flows, so that what the blade
    /// answers can be watched. Each demo's chain is named after its peer port.
    static func partition(_ blade: DemoBlade, state: DemoState) throws {
        guard let nft = Processes.which("nft") else { throw DemoError("nft is not installed; run: make deps") }
        let chain = "cut_\(state.peerPort)_\(blade.index)"
        let peers = state.blades.filter { $0.index != blade.index }.map(\.address).joined(separator: ", ")
        let script = """
        table inet \(nftTable) {
            chain \(chain) {
                type filter hook output priority 0; policy accept;
                ip saddr \(blade.address) ip daddr { \(peers) } tcp dport \(state.peerPort) drop
                ip saddr \(blade.address) ip daddr { \(peers) } tcp sport \(state.peerPort) drop
                ip saddr { \(peers) } ip daddr \(blade.address) tcp dport \(state.peerPort) drop
                ip saddr { \(peers) } ip daddr \(blade.address) tcp sport \(state.peerPort) drop
            }
        }
        """
        let file = state.directory + "/partition-\(blade.index).nft"
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        try? heal(blade, state: state)
        let (status, output) = try Processes.run([nft, "-f", file])
        guard status == 0 else { throw DemoError("nft refused the partition rules: \(output)") }
    }

    static func heal(_ blade: DemoBlade, state: DemoState) throws {
        guard let nft = Processes.which("nft") else { throw DemoError("nft is not installed; run: make deps") }
        let (status, output) = try Processes.run([nft, "delete", "chain", "inet", nftTable, "cut_\(state.peerPort)_\(blade.index)"])
        if status != 0 && !output.contains("No such file") {
            throw DemoError("nft could not remove the partition: \(output)")
        }
        // The last partition healed leaves no empty table behind in the host's ruleset. (Another
        // demo could add a chain between the two commands; it would lose that partition only.)
        let (listed, ruleset) = try Processes.run([nft, "list", "table", "inet", nftTable])
        if listed == 0 && !ruleset.contains("chain ") {
            _ = try Processes.run([nft, "delete", "table", "inet", nftTable])
        }
    }

    static func healAll(state: DemoState) {
        for blade in state.blades { try? heal(blade, state: state) }
    }

    /// The simulated midplane: a blade powered off (or on again) as the chassis reports it.
    static func setPowered(_ blade: DemoBlade, on: Bool, state: DemoState) throws {
        let path = state.directory + "/midplane-off"
        var off = Set(((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
        if on { off.remove(blade.name) } else { off.insert(blade.name) }
        try (off.sorted().joined(separator: "\n") + (off.isEmpty ? "" : "\n")).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The simulated midplane's power control, as the demo's `power_command` and
    /// `identify_command` call it: a slot's power cut (`off`: every process killed at once),
    /// its operating system shut down (`shutdown`: stopped in order, the engine handing over if it
    /// must), power restored (`on`: started again, answered once its web server answers), cycled
    /// or reset; the identify LED as a file the front view does not need (the log records it).
    static func midplane(state: inout DemoState, slot: Int, action: String) throws -> String {
        guard let position = state.blades.firstIndex(where: { $0.index == slot && !$0.witness }) else {
            throw DemoError("slot \(slot) holds no blade")
        }
        let blade = state.blades[position]
        // What the midplane was asked and what it finished, for the tests (an action begun and
        // never done was interrupted), and a delay the tests set to interrupt one on purpose.
        let journal = state.directory + "/midplane.log"
        func note(_ word: String) {
            let line = "\(String(format: "%.3f", Date().timeIntervalSince1970)) \(word) \(slot) \(action)\n"
            if let handle = FileHandle(forWritingAtPath: journal) ?? {
                FileManager.default.createFile(atPath: journal, contents: nil)
                return FileHandle(forWritingAtPath: journal)
            }() {
                handle.seekToEndOfFile()
                handle.write(Data(line.utf8))
                try? handle.close()
            }
        }
        note("begin")
        defer { note("end") }
        if let text = try? String(contentsOfFile: state.directory + "/midplane-delay", encoding: .utf8),
           let seconds = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), seconds > 0, seconds <= 30 {
            usleep(UInt32(seconds * 1_000_000))
        }
        let running = [blade.engine, blade.web, blade.nginx].allSatisfy { $0 > 0 && Processes.isAlive($0) }
        func powerOn() throws {
            killBlade(state.blades[position])
            try setPowered(state.blades[position], on: true, state: state)
            try start(&state.blades[position], state: state)
            try state.save()
            try waitUntilReady([state.blades[position]], port: state.port)
        }
        switch action {
        case "on":
            if running { return "slot \(slot) is on already" }
            try powerOn()
            return "slot \(slot) powered on"
        case "shutdown":
            stopBlade(blade)
            try setPowered(blade, on: false, state: state)
            return "slot \(slot) shut down"
        case "off":
            killBlade(blade)
            try setPowered(blade, on: false, state: state)
            return "slot \(slot) powered off"
        case "cycle":
            killBlade(blade)
            try setPowered(blade, on: false, state: state)
            usleep(500_000)
            try powerOn()
            return "slot \(slot) power cycled"
        case "reset":
            killBlade(blade)
            try powerOn()
            return "slot \(slot) reset"
        case "identify-on", "identify-off":
            let path = state.directory + "/identify-\(slot)"
            if action == "identify-on" {
                try "on\n".write(toFile: path, atomically: true, encoding: .utf8)
            } else {
                try? FileManager.default.removeItem(atPath: path)
            }
            return "slot \(slot) identify LED \(action == "identify-on" ? "lit" : "out")"
        default:
            throw DemoError("unknown action \(action): on, shutdown, off, cycle, reset, identify-on or identify-off")
        }
    }

    /// Asks the active manager to hand over (to a named blade, or the next preferred).
    static func handOver(state: DemoState, to target: Int?) throws -> String {
        for blade in state.blades where !blade.witness {
            guard isActive(blade, state: state) else { continue }
            let config = try BladeConfig.load(path: blade.configPath)
            let name = try target.map { try state.blade($0).name }
            let response = try ControlClient(socketPath: config.paths.controlSocket).send(.handOver(to: name))
            guard response.ok else { throw DemoError(response.error ?? "hand-over refused") }
            return blade.name
        }
        throw DemoError("no blade is the active manager right now")
    }

    /// Waits until some blade answers as the active manager; returns its address.
    static func waitForActive(state: DemoState, seconds: Double) throws -> String {
        var found: String?
        try waitFor(seconds: seconds, what: "an active manager") {
            for blade in state.blades where !blade.witness {
                if isActive(blade, state: state) {
                    found = blade.address
                    return true
                }
            }
            return false
        }
        return found!
    }
}

extension Demo {
    /// Hot-adds a blade into the next empty slot: starts it waiting to join, then asks the active
    /// manager to add it. Every blade's member list is rewritten to include it, for restarts.
    static func add(state: inout DemoState, via: Int? = nil) throws -> DemoBlade {
        let used = Set(state.blades.filter { !$0.witness }.map(\.index))
        guard let index = (1...state.slots).first(where: { !used.contains($0) }) else {
            throw DemoError("every slot of the chassis is taken")
        }
        let runtimeRoot = (state.blades.first!.runtimeDirectory as NSString).deletingLastPathComponent
        var blade = DemoBlade(index: index, address: address(of: index, chassis: state.chassis), directory: "\(state.directory)/blade\(index)",
                              runtimeDirectory: "\(runtimeRoot)/blade\(index)", joining: true)
        if let via {
            guard state.blades.contains(where: { $0.index == via && !$0.witness }) else { throw DemoError("no blade \(via) to join via") }
            blade.joinVia = via
        }
        state.blades.append(blade)
        state.blades.sort { ($0.witness ? 1_000 : $0.index) < ($1.witness ? 1_000 : $1.index) }
        for member in state.blades { try prepare(member, state: state) }
        try startEngine(&blade, state: state)
        try startWeb(&blade, state: state)
        if let position = state.blades.firstIndex(where: { $0.index == index && !$0.witness }) { state.blades[position] = blade }
        try state.save()
        try waitUntilReady([blade], port: state.port)
        let active = try activeBlade(state: state)
        let config = try BladeConfig.load(path: active.configPath)
        let response = try ControlClient(socketPath: config.paths.controlSocket).send(
            .addMember(name: blade.name, address: blade.address, slot: blade.index, port: state.peerPort, priority: nil,
                       witness: false))
        guard response.ok else { throw DemoError(response.error ?? "the active manager refused to add \(blade.name)") }
        return blade
    }

    /// Removes a (dead) blade from the membership through the active manager.
    static func remove(state: inout DemoState, index: Int) throws {
        let blade = try state.blade(index)
        let active = try activeBlade(state: state)
        let config = try BladeConfig.load(path: active.configPath)
        let response = try ControlClient(socketPath: config.paths.controlSocket).send(.removeMember(name: blade.name))
        guard response.ok else { throw DemoError(response.error ?? "the active manager refused to remove \(blade.name)") }
        killBlade(blade)
        state.blades.removeAll { $0.index == index && !$0.witness }
        for member in state.blades { try prepare(member, state: state) }
        try state.save()
    }

    /// `/health/active` answers 200 on the active manager only (anonymous, over plain HTTP).
    static func isActive(_ blade: DemoBlade, state: DemoState) -> Bool {
        (try? HTTPGet.get(host: blade.address, port: state.port, path: "/health/active", timeoutMs: 300))?.status == 200
    }

    static func activeBlade(state: DemoState) throws -> DemoBlade {
        let address = try waitForActive(state: state, seconds: 10)
        guard let blade = state.blades.first(where: { $0.address == address }) else { throw DemoError("no active manager") }
        return blade
    }
}
