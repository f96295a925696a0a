import ChassisKeys
import ChassisMIB
import Model
import Plumbing
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// SNMP in the demo: on every blade, Debian's snmpd as an ordinary process (its own configuration,
/// `-C` so that nothing under /etc/snmp is read, its persistent directory in the blade's directory
/// so that nothing under /var/lib/snmp is touched, UDP `--snmp-port` on the blade's own address)
/// and chassis-snmp, its AgentX subagent, on a socket in the blade's directory.
struct SNMPOptions {
    var port: Int
    var informSink: String?
    var v2c: Bool
}

/// The demo's SNMP users and their passwords, shared by every blade, written to
/// `snmp-credentials` (mode 0600) in the demo directory as `NAME=VALUE` lines.
struct SNMPCredentials {
    var values: [String: String]

    static let operatorUser = "chassis-operator"
    static let informUser = "chassis-inform"
    static let fileName = "snmp-credentials"

    static func load(directory: String) throws -> SNMPCredentials {
        guard let text = try? String(contentsOfFile: directory + "/" + fileName, encoding: .utf8) else {
            throw DemoError("no \(directory)/\(fileName): the demo runs without SNMP (demo up --snmp-port N)")
        }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return SNMPCredentials(values: values)
    }

    subscript(_ key: String) -> String { values[key] ?? "" }
}

extension Demo {
    static func writeSNMPCredentials(state: DemoState) throws {
        var lines = [
            "operator_user=\(SNMPCredentials.operatorUser)",
            "operator_auth=\(randomPassword())", "operator_privacy=\(randomPassword())",
            "customer_user=\(customerName)",
            "customer_auth=\(randomPassword())", "customer_privacy=\(randomPassword())",
            "inform_user=\(SNMPCredentials.informUser)",
            "inform_auth=\(randomPassword())", "inform_privacy=\(randomPassword())",
            "auth_protocol=\(SNMPDConfig.authProtocol)", "privacy_protocol=\(SNMPDConfig.privacyProtocol)",
        ]
        if state.snmpV2c == true { lines.append("v2c_community=\(randomPassword())") }
        try ChassisSecret.writeAtomically(path: state.directory + "/" + SNMPCredentials.fileName,
                                          contents: Array((lines.joined(separator: "\n") + "\n").utf8), mode: 0o600)
    }

    /// Writes the blade's snmpd.conf and its persistent users file (both 0600), then starts snmpd
    /// and chassis-snmp.
    static func startSNMP(_ blade: inout DemoBlade, state: DemoState) throws {
        guard let port = state.snmpPort else { return }
        guard let snmpd = Processes.which("snmpd") else { throw DemoError("snmpd is not installed; run: make deps") }
        let agent = Processes.executableDirectory + "/chassis-snmp"
        guard FileManager.default.isExecutableFile(atPath: agent) else { throw DemoError("\(agent) is not built; run: make build") }
        let credentials = try SNMPCredentials.load(directory: state.directory)
        let directory = blade.snmpDirectory
        let persistent = directory + "/persist"
        try FileManager.default.createDirectory(atPath: persistent, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        chmod(directory, 0o700)
        var sinks: [(address: String, port: Int)] = []
        // As `chassisctl snmp config` reads [snmp] inform_sinks: the port defaults to 162.
        if let sink = state.snmpInformSink, let endpoint = IPv4.parseEndpoint(sink[...], defaultPort: 162) {
            sinks.append(endpoint)
        }
        let settings = SNMPDConfig.Settings(
            agentAddress: "udp:\(blade.address):\(port)", agentxSocket: blade.agentxSocket,
            operators: [credentials["operator_user"]], customers: [credentials["customer_user"]],
            v2cCommunity: state.snmpV2c == true ? credentials["v2c_community"] : nil,
            informSinks: sinks,
            informUser: (credentials["inform_user"], credentials["inform_auth"], credentials["inform_privacy"]))
        let text = try SNMPDConfig.render(settings)
        let configPath = directory + "/snmpd.conf"
        try ChassisSecret.writeAtomically(path: configPath, contents: Array(text.utf8), mode: 0o600)
        // snmpd reads createUser lines from its persistent file and rewrites them there with
        // localized keys when it stops; a restart keeps the users (and the engine ID).
        let usersPath = persistent + "/snmpd.conf"
        let existing = (try? String(contentsOfFile: usersPath, encoding: .utf8)) ?? ""
        if !existing.contains("usmUser") {
            var users = ""
            for prefix in ["operator", "customer"] {
                users += try SNMPDConfig.createUserLine(name: credentials[prefix + "_user"], authPassword: credentials[prefix + "_auth"],
                                                         privacyPassword: credentials[prefix + "_privacy"])
            }
            try ChassisSecret.writeAtomically(path: usersPath, contents: Array(users.utf8), mode: 0o600)
        }
        try? FileManager.default.removeItem(atPath: blade.agentxSocket)
        // -f: in the foreground; -Lf: its log. SNMPCONFPATH names the only directories snmpd reads
        // (this one's snmpd.conf and the persistent users file; nothing under /etc/snmp), and
        // SNMP_PERSISTENT_DIR where it keeps its state (nothing under /var/lib/snmp). Not -C: with
        // it snmpd would not read the persistent file, and the users would have to be in the
        // configuration itself. No secret is in an argument or the environment.
        blade.snmpd = try ProcessRunner.spawnDetached(
            [snmpd, "-f", "-p", directory + "/snmpd.pid", "-Lf", blade.directory + "/snmpd.log"],
            logPath: blade.directory + "/snmpd.out",
            environment: ["SNMP_PERSISTENT_DIR": persistent, "SNMPCONFPATH": directory + ":" + persistent, "MIBS": "", "MIBDIRS": ""])
        let socket = blade.agentxSocket
        let pid = blade.snmpd
        try waitFor(seconds: 10, what: "\(blade.name)'s snmpd AgentX socket (see \(blade.directory)/snmpd.log)") {
            guard Processes.isAlive(pid) else { throw DemoError("\(blade.name)'s snmpd exited; see \(blade.directory)/snmpd.log") }
            return FileManager.default.fileExists(atPath: socket)
        }
        blade.snmpAgent = try ProcessRunner.spawnDetached([agent, "--config", blade.configPath], logPath: blade.directory + "/snmp-agent.log")
    }
}
