import ArgumentParser
import Config
import Control
import Foundation
import Model
import Store
import Plumbing
#if canImport(Glibc)
import Glibc
#endif

@main
struct ChassisCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chassisctl",
        abstract: "Chassis Manager console: status, settings and the simulated chassis.",
        subcommands: [StatusCommand.self, AlertsCommand.self, ThresholdsCommand.self, ThresholdCommand.self, AcknowledgeCommand.self,
                      ChassisCommand.self, SlotCommand.self, NameCommand.self, IntervalsCommand.self, IntervalLegacyCommand.self,
                      ReplicationCommand.self, HandOverCommand.self, MemberCommand.self, UserCommand.self, TokenCommand.self,
                      AuditCommand.self, EventsCommand.self, NotifyCommand.self, MaintenanceCommand.self, CertificateCommand.self,
                      NginxConfigCommand.self, FirstAdminCommand.self, PowerCommand.self, IdentifyCommand.self, SNMPCommand.self,
                      DemoCommand.self])
}

/// Where a command finds a blade: its configuration file, or a blade of the running demo.
struct BladeOptions: ParsableArguments {
    @Option(name: .long, help: "The blade's configuration file (default: $CHASSIS_CONFIG, else /etc/chassis/blade.toml when it exists, else the demo's blade 1).")
    var config: String?

    @Option(name: .long, help: "A blade of the running demo (1 to 16), instead of --config.")
    var blade: Int?

    @Option(name: .long, help: "The demo's directory (default: \(Demo.defaultDirectory)).")
    var demoDir: String?

    static let installedConfig = "/etc/chassis/blade.toml"

    func load() throws -> BladeConfig {
        if let config { return try BladeConfig.load(path: config) }
        if blade == nil && demoDir == nil {
            if let path = ProcessInfo.processInfo.environment["CHASSIS_CONFIG"], !path.isEmpty {
                return try BladeConfig.load(path: path)
            }
            if FileManager.default.fileExists(atPath: Self.installedConfig) {
                return try BladeConfig.load(path: Self.installedConfig)
            }
        }
        let state = try DemoState.load(directory: demoDir ?? Demo.defaultDirectory)
        return try BladeConfig.load(path: try state.blade(blade ?? 1).configPath)
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status",
                                                    abstract: "The hierarchy with current values and alerts (the local console).")
    @OptionGroup var target: BladeOptions

    @Flag(help: "Print the snapshot as JSON.")
    var json = false

    func run() throws {
        let config = try target.load()
        let reader = StoreReader(configDatabase: config.paths.configDatabase, metricsDatabase: config.paths.metricsDatabase,
                                 staleAfterSeconds: config.web.staleAfterSeconds)
        let snapshot = try reader.snapshot()
        if json {
            return try printJSON(snapshot)
        }
        print(StatusText.render(snapshot, local: try reader.local(), now: HostClock.system.wallSeconds()), terminator: "")
    }
}

/// A threshold rule as options: `thresholds set` and the older `threshold`.
struct ThresholdRuleOptions: ParsableArguments {
    @Argument(help: "Metric key, or a prefix ending in '*' (e.g. hwmon.coretemp-isa-0000.temp1).")
    var key: String

    @Option(help: "Scope: global, chassis:ID, type:ROLE or slot:N.")
    var scope: String = "global"
    @Option(help: "Critical below this.") var lowCritical: Double?
    @Option(help: "Warning below this.") var lowWarning: Double?
    @Option(help: "Warning above this.") var highWarning: Double?
    @Option(help: "Critical above this.") var highCritical: Double?
    @Option(help: "How far back past a limit a value must come before its alert clears.") var hysteresis: Double = 0
    @Option(help: "Seconds a condition must hold before an alert is raised.")
    var minimumDuration: Double = 0

    static func parse(scope: String) throws -> ThresholdScope {
        switch scope.split(separator: ":", maxSplits: 1).map(String.init) {
        case ["global"]: return .global
        case let parts where parts.count == 2 && parts[0] == "chassis": return .chassis(parts[1])
        case let parts where parts.count == 2 && parts[0] == "type": return .moduleType(parts[1])
        case let parts where parts.count == 2 && parts[0] == "slot":
            if let slot = Int(parts[1]) { return .slot(slot) }
        default: break
        }
        throw ValidationError("scope must be global, chassis:ID, type:ROLE or slot:N")
    }

    static func text(_ scope: ThresholdScope) -> String {
        switch scope {
        case .global: return "global"
        case .chassis(let id): return "chassis:\(id)"
        case .moduleType(let role): return "type:\(role)"
        case .slot(let slot): return "slot:\(slot)"
        }
    }

    /// Sets the rule; its id.
    func set(_ config: BladeConfig) throws -> Int64 {
        let rule = ThresholdRule(scope: try Self.parse(scope: scope), metricKey: key,
                                 limits: Limits(lowCritical: lowCritical, lowWarning: lowWarning,
                                                highWarning: highWarning, highCritical: highCritical),
                                 hysteresis: hysteresis, minimumDurationSeconds: minimumDuration)
        let response = try ControlClient(socketPath: config.paths.controlSocket).send(.setThreshold(rule))
        try check(response)
        return response.id ?? 0
    }

    static func remove(key: String, scope: ThresholdScope, _ config: BladeConfig) throws {
        guard let rule = try AccessCommands.reader(config).thresholds().first(where: { $0.metricKey == key && $0.scope == scope }) else {
            throw ValidationError("no threshold for \(key) at scope \(text(scope))")
        }
        try check(ControlClient(socketPath: config.paths.controlSocket).send(.removeThreshold(id: rule.id)))
    }
}

/// The older form, kept for scripts: `threshold KEY [limits]` sets, `--remove` removes.
struct ThresholdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "threshold", abstract: "Set or remove a threshold (see: thresholds).",
                                                    shouldDisplay: false)
    @OptionGroup var target: BladeOptions
    @OptionGroup var rule: ThresholdRuleOptions
    @Flag(help: "Remove the rule for this key and scope instead.")
    var remove = false

    func run() throws {
        let config = try target.load()
        if remove {
            try ThresholdRuleOptions.remove(key: rule.key, scope: try ThresholdRuleOptions.parse(scope: rule.scope), config)
            return
        }
        print("threshold \(try rule.set(config)) set")
    }
}

struct AcknowledgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ack", abstract: "Acknowledge an alert.",
                                                    discussion: "Example: chassisctl alerts ack 42 --comment \"fan replaced\" --for 60")
    @OptionGroup var target: BladeOptions
    @Argument var id: Int64
    @Option(help: "Who acknowledges.")
    var by: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"
    @Option(help: "Why (shown with the alert and in the audit log).")
    var comment: String?
    @Option(name: .customLong("for"), help: "Minutes the acknowledgement holds; then the alert is new again.")
    var minutes: Int?

    func run() throws {
        let config = try target.load()
        if let minutes, !(1...10_080).contains(minutes) { throw ValidationError("--for must be from 1 to 10080 minutes (a week)") }
        let until = minutes.map { Date().timeIntervalSince1970 + Double($0 * 60) }
        try AccessCommands.send(.acknowledgeAlert(id: id, by: by, comment: comment, until: until), config)
        print("alert \(id) acknowledged" + (minutes.map { " for \($0) min" } ?? ""))
    }
}

/// Prints `value` as JSON with sorted keys (indented for a person, one line for a program).
func printJSON<T: Encodable>(_ value: T, pretty: Bool = true) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

func check(_ response: ControlResponse) throws {
    guard response.ok else { throw ValidationError(response.error ?? "the engine refused (code \(response.code))") }
}

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "A simulated chassis on this machine: blade i on 127.0.1.i, port 8080.",
        subcommands: [Up.self, Down.self, SetSensor.self, Kill.self, PowerOff.self, Midplane.self, Start.self, Pause.self, Resume.self,
                      Partition.self, Heal.self, HandOver.self, Replace.self, Add.self, Remove.self])

    struct Common: ParsableArguments {
        @Option(name: .long, help: "The demo's directory (state, logs, simulated hardware).")
        var dir: String = Demo.defaultDirectory
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the chassis and return once every blade answers.")
        @OptionGroup var common: Common
        @Option(help: "Blades to start (1 to 16).")
        var blades: Int = 4
        @Option(help: "Slots in the chassis (default: at least 8).")
        var slots: Int?
        @Option(help: "The repository (Templates, Public, nginx).")
        var root: String = FileManager.default.currentDirectoryPath
        @Option(help: "HTTP port of every blade's nginx (health checks and a redirect to HTTPS).")
        var port: Int = 8080
        @Option(help: "HTTPS port of every blade's nginx.")
        var tlsPort: Int = Demo.defaultTLSPort
        @Option(help: "TCP port of the engines' peer transport.")
        var peerPort: Int = Demo.defaultPeerPort
        @Flag(help: "Add a witness (votes and keeps the log, no metrics, no web) on 127.0.1.250.")
        var witness = false
        @Option(help: "Which demo chassis this is: its blades are 127.0.N.1, 127.0.N.2 …, its ID 660007770088 + N - 1 (for a second chassis beside the first).")
        var chassisNumber: Int = 1
        @Option(help: "Run SNMP: every blade's snmpd on this UDP port of its address, with chassis-snmp; the users' passwords in snmp-credentials (0600) in the demo directory.")
        var snmpPort: Int?
        @Option(help: "Where every blade's snmpd sends SNMPv3 informs (HOST:PORT), as the user chassis-inform of snmp-credentials.")
        var snmpInformSink: String?
        @Flag(help: "Also answer SNMPv2c (read-only, the community in snmp-credentials).")
        var snmpV2c = false

        @Option(help: "Chassis to start as one site (1 to 8): the first in --dir on 127.0.N.x, the next in --dir/chassis-N on 127.0.N+1.x, each its own cluster, one admin password for all, each one's site page showing every chassis.")
        var chassis: Int = 1

        func run() throws {
            if let snmpPort, !(1...65535).contains(snmpPort) { throw DemoError("--snmp-port must be between 1 and 65535") }
            if let sink = snmpInformSink, IPv4.parseEndpoint(sink[...], defaultPort: 162) == nil {
                throw DemoError("--snmp-inform-sink must be an IPv4 address and port, like 127.0.0.1:19862")
            }
            let snmp = snmpPort.map { SNMPOptions(port: $0, informSink: snmpInformSink, v2c: snmpV2c) }
            if chassis > 1 && snmp != nil { throw DemoError("--snmp-port runs SNMP on one chassis (without --chassis)") }
            if chassis > 1 {
                let states = try Demo.upSite(count: chassis, first: chassisNumber, blades: blades, slots: slots, directory: common.dir,
                                             root: root, port: port, peerPort: peerPort, tlsPort: tlsPort, witness: witness)
                for state in states {
                    print("chassis \(state.chassis) (\(state.directory)): " + state.blades.filter { !$0.witness }
                        .map { "https://\($0.address):\(state.tlsPort)/" }.joined(separator: " "))
                }
                let admin = ((try? String(contentsOfFile: common.dir + "/admin-password", encoding: .utf8)) ?? "?")
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                print("open https://\(states[0].blades[0].address):\(states[0].tlsPort)/site")
                print("trust each chassis' CA once: ca.crt in each chassis' directory (also at /ca.crt on every blade)")
                print("log in as admin with password \(admin) on any chassis (in \(common.dir)/admin-password); the site page opens the others without a new login")
                return
            }
            let state = try Demo.up(blades: blades, slots: slots, directory: common.dir, root: root, port: port,
                                    peerPort: peerPort, tlsPort: tlsPort, witness: witness, chassis: chassisNumber, snmp: snmp)
            for blade in state.blades {
                if blade.witness {
                    print("\(blade.name): \(blade.address) (engine \(blade.engine), votes only)")
                } else {
                    print("\(blade.name): https://\(blade.address):\(state.tlsPort)/  (engine \(blade.engine), web \(blade.web), nginx \(blade.nginx))")
                }
            }
            func password(_ file: String) -> String {
                ((try? String(contentsOfFile: common.dir + "/" + file, encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
            }
            print("open https://\(state.blades[0].address):\(state.tlsPort)/")
            print("trust the chassis CA once: \(common.dir)/ca.crt (also at /ca.crt on every blade)")
            print("log in as admin with password \(password("admin-password"))  (in \(common.dir)/admin-password)")
            if let snmpPort = state.snmpPort {
                print("SNMP: snmpwalk -v3 -l authPriv -u \(SNMPCredentials.operatorUser) -a SHA-256 -x AES -A … -X … \(state.blades[0].address):\(snmpPort) 1.3.6.1.2.1.47 "
                      + "(passwords in \(common.dir)/\(SNMPCredentials.fileName); the customer's context is -n \(Demo.customerName))")
            }
            print("or as \(Demo.customerName) (slots \(Demo.customerSlots.map(String.init).joined(separator: ", "))) with password "
                  + "\(password("customer-a-password"))  (in \(common.dir)/customer-a-password)")
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop every process the demo started.")
        @OptionGroup var common: Common
        func run() throws { try Demo.down(directory: common.dir) }
    }

    struct SetSensor: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-sensor",
            abstract: "Pin a simulated sensor of a blade: a number, 'fault' or 'release' (psu.state takes ok or failed).")
        @OptionGroup var common: Common
        @Argument(help: "Blade number, or 0 for the chassis' own devices (chassis.psu1.state, chassis.fan2.rpm ...).")
        var blade: Int
        @Argument(help: "Metric key, e.g. hwmon.coretemp-isa-0000.temp1 or sim.cpu_load_percent.") var key: String
        @Argument(help: "Value, 'fault' or 'release'.") var value: String

        func run() throws {
            try Demo.setSensor(state: try DemoState.load(directory: common.dir), blade: blade, key: key, value: value)
        }
    }

    struct Kill: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "SIGKILL every process of a blade (engine, web app, nginx).")
        @OptionGroup var common: Common
        @Argument var blade: Int
        func run() throws {
            Demo.killBlade(try DemoState.load(directory: common.dir).blade(blade))
        }
    }

    struct PowerOff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "power-off",
            abstract: "SIGKILL a blade and report it powered off on the simulated midplane (a fence confirmation).")
        @OptionGroup var common: Common
        @Argument var blade: Int
        func run() throws {
            let state = try DemoState.load(directory: common.dir)
            let target = try state.blade(blade)
            Demo.killBlade(target)
            try Demo.setPowered(target, on: false, state: state)
        }
    }

    struct Midplane: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The simulated midplane's power and identify control: what the demo's power_command and identify_command run.",
            discussion: "Actions: on, shutdown, off, cycle, reset, identify-on, identify-off. Example: chassisctl demo midplane 3 cycle")
        @OptionGroup var common: Common
        @Argument(help: "The slot.") var slot: Int
        @Argument(help: "The action.") var action: String
        func run() throws {
            var state = try DemoState.load(directory: common.dir)
            print(try Demo.midplane(state: &state, slot: slot, action: action))
        }
    }

    struct Partition: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cut a blade off from the others (nftables on loopback).")
        @OptionGroup var common: Common
        @Argument var blade: Int
        func run() throws {
            let state = try DemoState.load(directory: common.dir)
            try Demo.partition(try state.blade(blade), state: state)
        }
    }

    struct Heal: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Undo a partition.")
        @OptionGroup var common: Common
        @Argument var blade: Int
        func run() throws {
            let state = try DemoState.load(directory: common.dir)
            try Demo.heal(try state.blade(blade), state: state)
        }
    }

    struct HandOver: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "handover",
                                                        abstract: "Ask the active manager to hand over.")
        @OptionGroup var common: Common
        @Option(help: "The blade to hand over to (default: the most preferred other).")
        var to: Int?
        func run() throws {
            let state = try DemoState.load(directory: common.dir)
            let from = try Demo.handOver(state: state, to: to)
            print("\(from) handed over")
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hot-add a blade into the next empty slot: it starts waiting, the active manager adds it.")
        @OptionGroup var common: Common
        @Option(help: "Give the new blade only this blade's address (join_via), not the member list.")
        var via: Int?
        func run() throws {
            var state = try DemoState.load(directory: common.dir)
            let blade = try Demo.add(state: &state, via: via)
            print("\(blade.name) added: http://\(blade.address):\(state.port)/")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a blade from the chassis' membership and stop it.")
        @OptionGroup var common: Common
        @Argument var blade: Int
        func run() throws {
            var state = try DemoState.load(directory: common.dir)
            try Demo.remove(state: &state, index: blade)
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a stopped or killed blade again.")
        @OptionGroup var common: Common
        @Argument var blade: Int
        func run() throws {
            var state = try DemoState.load(directory: common.dir)
            guard let position = state.blades.firstIndex(where: { $0.index == blade }) else { throw DemoError("no blade \(blade)") }
            Demo.killBlade(state.blades[position])
            try Demo.setPowered(state.blades[position], on: true, state: state)
            try Demo.start(&state.blades[position], state: state)
            try state.save()
            try Demo.waitUntilReady([state.blades[position]], port: state.port)
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "SIGSTOP a blade's engine (nginx and the web app keep running).")
        @OptionGroup var common: Common
        @Argument var blade: Int
        func run() throws { kill(try DemoState.load(directory: common.dir).blade(blade).engine, SIGSTOP) }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "SIGCONT a paused engine.")
        @OptionGroup var common: Common
        @Argument var blade: Int
        func run() throws { kill(try DemoState.load(directory: common.dir).blade(blade).engine, SIGCONT) }
    }

    struct Replace: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a blade's module: stop it, give it a new serial number, start it again in the same slot.")
        @OptionGroup var common: Common
        @Argument var blade: Int
        @Option(help: "Serial number of the new module (default: generated).")
        var serial: String?

        func run() throws {
            var state = try DemoState.load(directory: common.dir)
            guard let position = state.blades.firstIndex(where: { $0.index == blade }) else { throw DemoError("no blade \(blade)") }
            Demo.stopBlade(state.blades[position])
            try Demo.replaceModule(state.blades[position], serial: serial)
            try Demo.start(&state.blades[position], state: state)
            try state.save()
            try Demo.waitUntilReady([state.blades[position]], port: state.port)
        }
    }
}
