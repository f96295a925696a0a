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

struct IntervalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "interval", abstract: "Set a group's sampling interval on every blade.")
    @OptionGroup var target: BladeOptions
    @Argument(help: "sensors, cpu, memory, disk, network, system or identification.") var group: SamplingGroup
    @Argument(help: "Milliseconds.") var milliseconds: Int

    func run() throws {
        try AccessCommands.send(.setInterval(group: group, intervalMs: milliseconds), try target.load())
        print("\(group.rawValue) sampled every \(milliseconds) ms")
    }
}

struct ReplicationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replication",
                                                    abstract: "Show the replication policy, or set the members a group goes to.")
    @OptionGroup var target: BladeOptions
    @Argument(help: "A group to change.") var group: SamplingGroup?
    @Argument(help: "all, or member names.") var members: [String] = []

    func run() throws {
        let config = try target.load()
        guard let group else {
            let reader = AccessCommands.reader(config)
            for group in SamplingGroup.allCases {
                let list = try reader.setting(ReplicationPolicy.settingPrefix + group.rawValue).map(ReplicationPolicy.decodeList)
                print([group.rawValue, ReplicationPolicy.metricClass(group).rawValue,
                       ReplicationPolicy.isStatic(group) ? "static" : "dynamic",
                       list.map { $0.isEmpty ? "(no other member)" : $0.joined(separator: ",") } ?? "all"].joined(separator: "\t"))
            }
            return
        }
        guard !members.isEmpty else { throw ValidationError("name the members, or all") }
        try AccessCommands.send(.setReplication(group: group, members: members == ["all"] ? nil : members), config)
        print("\(group.rawValue) sent to \(members.joined(separator: ", "))")
    }
}

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "alerts", abstract: "The alert log, newest first.")
    @OptionGroup var target: BladeOptions
    @Option(help: "open, closed or all.") var state: String = "open"
    @Option var limit: Int = 100
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

struct ThresholdsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "thresholds", abstract: "Every user-defined threshold rule.")
    @OptionGroup var target: BladeOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let rules = try AccessCommands.reader(try target.load()).thresholds()
        if json { return try printJSON(rules) }
        func number(_ value: Double?) -> String { value.map { "\($0)" } ?? "-" }
        for rule in rules {
            let scope: String
            switch rule.scope {
            case .global: scope = "global"
            case .chassis(let id): scope = "chassis:\(id)"
            case .moduleType(let role): scope = "type:\(role)"
            case .slot(let slot): scope = "slot:\(slot)"
            }
            print([String(rule.id), scope, rule.metricKey, number(rule.limits.lowCritical), number(rule.limits.lowWarning),
                   number(rule.limits.highWarning), number(rule.limits.highCritical)].joined(separator: "\t"))
        }
    }
}

struct HandOverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "handover", abstract: "Ask the active manager to hand over.")
    @OptionGroup var target: BladeOptions
    @Argument(help: "The member to hand over to; the most preferred when left out.") var to: String?

    func run() throws {
        try AccessCommands.send(.handOver(to: to), try target.load())
        print("handed over" + (to.map { " to \($0)" } ?? ""))
    }
}

struct MemberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "member", abstract: "Add or remove a member (on the active manager).",
                                                    subcommands: [Add.self, Remove.self])

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

extension SamplingGroup: ExpressibleByArgument {}
extension SlotAffinity: ExpressibleByArgument {}
