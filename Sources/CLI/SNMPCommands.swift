import ChassisKeys
import ArgumentParser
import ChassisMIB
import Config
import Foundation
import Model
#if canImport(Glibc)
import Glibc
#endif

/// `chassisctl snmp`: snmpd's configuration and users on a blade, from its `[snmp]` settings, so
/// that snmpd serves chassis-snmp (the same renderer the demo uses). Passwords are read from
/// standard input, never from arguments, and written only to files of mode 0600.
struct SNMPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snmp",
        abstract: "Write snmpd's configuration and users for the SNMP subagent.",
        subcommands: [ConfigFile.self, User.self])

    /// Lines of standard input, at most `count`, without their line ends.
    static func readLines(_ count: Int) -> [String] {
        var lines: [String] = []
        while lines.count < count, let line = readLine(strippingNewline: true) { lines.append(line) }
        return lines
    }


    struct ConfigFile: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config",
            abstract: "Write snmpd.conf for this blade (mode 0600).",
            discussion: """
            From [snmp]: agent_address (default udp:ADDRESS:161), agentx_socket, \
            v2c_community_file (SNMPv2c only when set) and inform_sinks. Operators see the whole \
            chassis (the default context); each customer only its own context, which chassis-snmp \
            answers with that customer's slots (name it as the customer's web user). With \
            inform_sinks, the inform user's authentication and privacy passwords are read from \
            standard input, one a line.

            Example: printf '%s\\n%s\\n' "$AUTH" "$PRIV" | chassisctl snmp config --operator noc \
            --customer customer-a --inform-user chassis-inform --output /etc/snmp/snmpd.conf
            """)

        @OptionGroup var target: BladeOptions

        @Option(name: .customLong("operator"), help: "An SNMPv3 user that sees the whole chassis (repeat for several).")
        var operators: [String] = []

        @Option(name: .customLong("customer"), help: "An SNMPv3 user that sees only its own context (repeat for several).")
        var customers: [String] = []

        @Option(help: "The SNMPv3 user snmpd sends informs as (needed with [snmp] inform_sinks).")
        var informUser: String?

        @Option(help: "The group that may open the AgentX socket (chassis-snmp's); empty: snmpd's default.")
        var agentxGroup = "chassis"

        @Option(help: "Where to write snmpd's configuration.")
        var output = "/etc/snmp/snmpd.conf"

        func run() throws {
            let config = try target.load()
            let address = config.snmp.agentAddress.isEmpty ? "udp:\(config.blade.address):161" : config.snmp.agentAddress
            var community: String?
            if !config.snmp.v2cCommunityFile.isEmpty {
                guard let text = try? String(contentsOfFile: config.snmp.v2cCommunityFile, encoding: .utf8) else {
                    throw ValidationError("cannot read [snmp] v2c_community_file \(config.snmp.v2cCommunityFile)")
                }
                community = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let sinks = config.snmp.informSinks.compactMap { IPv4.parseEndpoint($0[...], defaultPort: 162) }
            var informUser: (name: String, authPassword: String, privacyPassword: String)?
            if !sinks.isEmpty {
                guard let name = self.informUser else { throw ValidationError("[snmp] inform_sinks needs --inform-user") }
                let passwords = SNMPCommand.readLines(2)
                guard passwords.count == 2 else {
                    throw ValidationError("give the inform user's authentication and privacy passwords on standard input, one a line")
                }
                informUser = (name, passwords[0], passwords[1])
            }
            let settings = SNMPDConfig.Settings(agentAddress: address, agentxSocket: config.snmp.agentxSocket, operators: operators,
                                                customers: customers, v2cCommunity: community, informSinks: sinks,
                                                informUser: informUser, agentxGroup: agentxGroup.isEmpty ? nil : agentxGroup)
            let text: String
            do {
                text = try SNMPDConfig.render(settings)
            } catch let problem as SNMPDConfig.Problem {
                throw ValidationError(problem.description)
            }
            try ChassisSecret.writeAtomically(path: output, contents: Array(text.utf8), mode: 0o600)
            print("wrote \(output) (mode 0600); restart snmpd to read it")
        }
    }

    struct User: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an SNMPv3 user (SHA-256, AES) to snmpd's persistent file.",
            discussion: """
            Reads the authentication and the privacy password (8 characters or more) from \
            standard input, one a line, and appends a createUser line to snmpd.conf in [snmp] \
            persistent_dir (mode 0600). Stop snmpd first: it rewrites that file when it stops, \
            and turns the line into localized keys at its next start.

            Example: printf '%s\\n%s\\n' "$AUTH" "$PRIV" | chassisctl snmp user noc
            """)

        @OptionGroup var target: BladeOptions

        @Argument(help: "The user's name.")
        var name: String

        func run() throws {
            let config = try target.load()
            let passwords = SNMPCommand.readLines(2)
            guard passwords.count == 2 else {
                throw ValidationError("give the authentication and privacy passwords on standard input, one a line")
            }
            let line: String
            do {
                line = try SNMPDConfig.createUserLine(name: name, authPassword: passwords[0], privacyPassword: passwords[1])
            } catch let problem as SNMPDConfig.Problem {
                throw ValidationError(problem.description)
            }
            let directory = config.snmp.persistentDir
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let path = directory + "/snmpd.conf"
            let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            try ChassisSecret.writeAtomically(path: path, contents: Array((existing + (existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n") + line).utf8), mode: 0o600)
            print("added user \(name) to \(path); start snmpd again to create it")
        }
    }
}
