import ArgumentParser
import Config
import Control
import Foundation
import Model
import Store

/// What an operator of a real chassis changes from a blade's console, each through the engine
/// and the replicated log like the same change from the browser, and in the audit log as the
/// console's: the chassis' name, slots, intervals, replication, the managers.
struct ChassisCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chassis", abstract: "Name and place the chassis.")
    @OptionGroup var target: BladeOptions
    @Option var name: String?
    @Option var site: String?
    @Option var row: String?
    @Option var rack: String?
    @Option var shelf: String?

    func run() throws {
        guard name != nil || site != nil || row != nil || rack != nil || shelf != nil else {
            throw ValidationError("give --name, --site, --row, --rack or --shelf")
        }
        try AccessCommands.send(.setChassisInfo(name: name, site: site, row: row, rack: rack, shelf: shelf), try target.load())
        print("chassis saved")
    }
}

struct SlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "slot", abstract: "Name a slot, set its module type and affinity, approve its module.")
    @OptionGroup var target: BladeOptions
    @Argument var slot: Int
    @Option var name: String?
    @Option(help: "The module type's role (blade, switch, …).") var role: String?
    @Option var function: String?
    @Option var expectedModel: String?
    @Option(help: "slot or slot+serial.") var affinity: SlotAffinity?
    @Option(help: "Approve the module with this serial (slot+serial).") var approve: String?

    func run() throws {
        let config = try target.load()
        let reader = AccessCommands.reader(config)
        guard let current = try reader.snapshot().slots.first(where: { $0.slotID == slot }) else {
            throw ValidationError("the chassis has no slot \(slot)")
        }
        var requests: [ControlRequest] = []
        if name != nil || role != nil || function != nil || expectedModel != nil {
            let type = ModuleType(role: role ?? current.moduleType.role, function: function ?? current.moduleType.function,
                                  expectedModel: expectedModel ?? current.moduleType.expectedModel)
            requests.append(.setSlot(slotID: slot, name: name, moduleType: type))
        }
        if let affinity { requests.append(.setSlotAffinity(slotID: slot, affinity: affinity)) }
        if let approve { requests.append(.approveModule(slotID: slot, serial: approve)) }
        guard !requests.isEmpty else { throw ValidationError("nothing to change") }
        for request in requests { try AccessCommands.send(request, config) }
        print("slot \(slot) saved")
    }
}

/// `intervals`: each group's sampling interval and where it comes from; `intervals set`.
struct IntervalsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intervals", abstract: "Sampling intervals: list (the default) and set.",
        discussion: """
        Examples:
          chassisctl intervals
          chassisctl intervals set memory 2500
        """,
        subcommands: [List.self, IntervalCommand.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each group's interval: the chassis' when an operator set it, else this blade's file's.")
        @OptionGroup var target: BladeOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let config = try target.load()
            let reader = AccessCommands.reader(config)
            var rows: [[String: String]] = []
            let intervals = try reader.intervals(fileMs: config.intervalsMs)
            for group in SamplingGroup.allCases {
                guard let interval = intervals[group] else { continue }
                rows.append(["group": group.rawValue, "intervalMs": String(interval.ms),
                             "source": interval.fromChassis ? "chassis" : "configuration file"])
            }
            if json { return try printJSON(rows) }
            for row in rows { print([row["group"] ?? "", (row["intervalMs"] ?? "") + " ms", row["source"] ?? ""].joined(separator: "\t")) }
        }
    }
}

struct IntervalArguments: ParsableArguments {
    @OptionGroup var target: BladeOptions
    @Argument(help: "sensors, cpu, memory, disk, network, system or identification.") var group: SamplingGroup
    @Argument(help: "Milliseconds.") var milliseconds: Int

    func send() throws {
        try AccessCommands.send(.setInterval(group: group, intervalMs: milliseconds), try target.load())
        print("\(group.rawValue) sampled every \(milliseconds) ms")
    }
}

struct IntervalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Set a group's sampling interval on every blade.")
    @OptionGroup var arguments: IntervalArguments
    func run() throws { try arguments.send() }
}

/// The older form, kept for scripts: `interval GROUP MS`.
struct IntervalLegacyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "interval", abstract: "Set a sampling interval (see: intervals).",
                                                    shouldDisplay: false)
    @OptionGroup var arguments: IntervalArguments
    func run() throws { try arguments.send() }
}

struct ReplicationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replication",
                                                    abstract: "Show the replication policy, or set the members a group goes to.")
    @OptionGroup var target: BladeOptions
    @Argument(help: "A group to change.") var group: SamplingGroup?
    @Argument(help: "all, or member names.") var members: [String] = []
    @Flag(help: "Print the policy as JSON.") var json = false

    func run() throws {
        let config = try target.load()
        guard let group else {
            let reader = AccessCommands.reader(config)
            var rows: [[String: String]] = []
            for group in SamplingGroup.allCases {
                let list = try reader.setting(ReplicationPolicy.settingPrefix + group.rawValue).map(ReplicationPolicy.decodeList)
                rows.append(["group": group.rawValue, "class": ReplicationPolicy.metricClass(group).rawValue,
                             "kind": ReplicationPolicy.isStatic(group) ? "static" : "dynamic",
                             "members": list.map { $0.isEmpty ? "(no other member)" : $0.joined(separator: ",") } ?? "all"])
            }
            if json { return try printJSON(rows) }
            for row in rows {
                print([row["group"], row["class"], row["kind"], row["members"]].map { $0 ?? "" }.joined(separator: "\t"))
            }
            return
        }
        guard !members.isEmpty else { throw ValidationError("name the members, or all") }
        try AccessCommands.send(.setReplication(group: group, members: members == ["all"] ? nil : members), config)
        print("\(group.rawValue) sent to \(members.joined(separator: ", "))")
    }
}

/// `alerts`: the alert log (the default) and `alerts ack`.
struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "Alerts: list (the default, newest first) and ack.",
        discussion: """
        Examples:
          chassisctl alerts
          chassisctl alerts list --state all --limit 20 --json
          chassisctl alerts ack 42 --comment "fan replaced" --for 60
        """,
        subcommands: [List.self, AcknowledgeCommand.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The alert log, newest first.")
        @OptionGroup var target: BladeOptions
        @Option(help: "open, closed or all.") var state: String = "open"
        @Option(help: "The most alerts to list.") var limit: Int = 100
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            guard let parsed = AlertFilter.State(rawValue: state) else { throw ValidationError("--state must be open, closed or all") }
            let alerts = try AccessCommands.reader(try target.load()).alertLog(filter: AlertFilter(state: parsed), limit: limit)
            if json { return try printJSON(alerts) }
            for alert in alerts {
                print([String(alert.id), alert.severity.rawValue, alert.slotID.map { "slot \($0)" } ?? "chassis", Format.time(alert.raisedAt),
                       alert.clearedAt.map { "cleared " + Format.time($0) } ?? "open",
                       alert.acknowledgedBy.map { "ack " + $0 } ?? "", alert.message].joined(separator: "\t"))
            }
        }
    }
}

/// `thresholds`: the rules (the default), `thresholds set` and `thresholds remove`.
struct ThresholdsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thresholds", abstract: "User-defined threshold rules: list (the default), set and remove.",
        discussion: """
        Examples:
          chassisctl thresholds
          chassisctl thresholds set 'hwmon.coretemp-isa-0000.temp*' --scope type:blade --high-warning 80 --high-critical 95
          chassisctl thresholds remove cpu.total.utilisation --scope slot:3
        """,
        subcommands: [List.self, Set.self, Remove.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every rule: id, scope, key, low critical, low warning, high warning, high critical.")
        @OptionGroup var target: BladeOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let rules = try AccessCommands.reader(try target.load()).thresholds()
            if json { return try printJSON(rules) }
            func number(_ value: Double?) -> String { value.map { "\($0)" } ?? "-" }
            for rule in rules {
                print([String(rule.id), ThresholdRuleOptions.text(rule.scope), rule.metricKey, number(rule.limits.lowCritical),
                       number(rule.limits.lowWarning), number(rule.limits.highWarning), number(rule.limits.highCritical)]
                    .joined(separator: "\t"))
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the rule for a key and scope (replacing one there).")
        @OptionGroup var target: BladeOptions
        @OptionGroup var rule: ThresholdRuleOptions

        func run() throws {
            let id = try rule.set(try target.load())
            print("threshold \(id) set")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the rule for a key and scope.")
        @OptionGroup var target: BladeOptions
        @Argument(help: "The rule's metric key or prefix.") var key: String
        @Option(help: "Scope: global, chassis:ID, type:ROLE or slot:N.") var scope: String = "global"

        func run() throws {
            try ThresholdRuleOptions.remove(key: key, scope: try ThresholdRuleOptions.parse(scope: scope), try target.load())
            print("threshold for \(key) at \(scope) removed")
        }
    }
}

struct HandOverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "handover", abstract: "Ask the active manager to hand over.",
                                                    discussion: "Examples: chassisctl handover; chassisctl handover --to blade2")
    @OptionGroup var target: BladeOptions
    @Argument(help: "The member to hand over to; the most preferred when left out.") var to: String?
    @Option(name: .customLong("to"), help: "The member to hand over to (the same as the argument).") var toOption: String?

    func validate() throws {
        if to != nil && toOption != nil { throw ValidationError("name the member once") }
    }

    func run() throws {
        let target = to ?? toOption
        try AccessCommands.send(.handOver(to: target), try self.target.load())
        print("handed over" + (target.map { " to \($0)" } ?? ""))
    }
}

/// `members`: the chassis' members and their roles (the default), `members add` and `members remove`.
struct MemberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "The chassis' members: list (the default), add and remove.",
        discussion: """
        Examples:
          chassisctl members
          chassisctl members add blade5 --address 10.0.0.15 --slot 5 --port 7400
          chassisctl members remove blade5
        """,
        subcommands: [List.self, Add.self, Remove.self], defaultSubcommand: List.self, aliases: ["member"])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every member with its address, slot, role and when it was last heard.")
        @OptionGroup var target: BladeOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let cluster = try AccessCommands.reader(try target.load()).cluster()
            if json { return try printJSON(cluster.members) }
            for member in cluster.members {
                print([member.name, member.address, member.slotID.map { "slot \($0)" } ?? "witness", member.role.rawValue,
                       member.lastHeardAt.map { "heard " + Format.time($0) } ?? "never heard"].joined(separator: "\t"))
            }
            if cluster.active == nil { print("no active manager" + (cluster.reason.map { ": \($0)" } ?? "")) }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a blade in an empty slot, or a witness.")
        @OptionGroup var target: BladeOptions
        @Argument var name: String
        @Option var address: String
        @Option(help: "The slot; none for a witness.") var slot: Int?
        @Option(help: "Its engine's peer port.") var port: Int
        @Option var priority: Int?
        @Flag var witness = false

        func run() throws {
            try AccessCommands.send(.addMember(name: name, address: address, slot: slot, port: port, priority: priority, witness: witness),
                                    try target.load())
            print("member \(name) added")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a member (a dead blade).")
        @OptionGroup var target: BladeOptions
        @Argument var name: String

        func run() throws {
            try AccessCommands.send(.removeMember(name: name), try target.load())
            print("member \(name) removed")
        }
    }
}

/// `name chassis NAME` and `name slot N NAME`: the two names an operator changes most.
struct NameCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "name", abstract: "Name the chassis or a slot (everything else: chassisctl chassis, chassisctl slot).",
        discussion: """
        Examples:
          chassisctl name chassis "Rack 12 chassis"
          chassisctl name slot 3 db-primary
        """,
        subcommands: [Chassis.self, Slot.self])

    struct Chassis: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Name the chassis.")
        @OptionGroup var target: BladeOptions
        @Argument var name: String

        func run() throws {
            try AccessCommands.send(.setChassisInfo(name: name, site: nil, row: nil, rack: nil, shelf: nil), try target.load())
            print("chassis named \(name)")
        }
    }

    struct Slot: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Name a slot (its module type stays).")
        @OptionGroup var target: BladeOptions
        @Argument var slot: Int
        @Argument var name: String

        func run() throws {
            try AccessCommands.send(.setSlot(slotID: slot, name: name, moduleType: nil), try target.load())
            print("slot \(slot) named \(name)")
        }
    }
}

extension SamplingGroup: ExpressibleByArgument {}
extension SlotAffinity: ExpressibleByArgument {}
