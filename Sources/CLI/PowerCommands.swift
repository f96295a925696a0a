import ArgumentParser
import Config
import Control
import Foundation
import Model
import Store

/// `chassisctl power SLOT on|shutdown|off|cycle|reset` and `chassisctl identify SLOT on|off`:
/// recorded in the replicated log, carried out by the active manager with the configured
/// command; the console waits for the result (which every blade's store holds) unless told not to.
struct PowerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "power", abstract: "Power a slot on, shut it down, power it off, cycle or reset it.",
        discussion: """
        The active manager runs [chassis] power_command; on and off can be asked again safely, a
        cycle or reset is never run twice. The active manager's own slot needs --hand-over.
        Examples:
          chassisctl power 3 shutdown
          chassisctl power 3 on
          chassisctl power 1 cycle --hand-over
        """)
    @OptionGroup var target: BladeOptions
    @Argument(help: "The slot.") var slot: Int
    @Argument(help: "on, shutdown, off, cycle or reset.") var action: String
    @Flag(help: "For the active manager's own slot: hand over first; the next active manager carries it out.")
    var handOver = false
    @OptionGroup var waiting: PowerWaitOptions

    func run() throws {
        guard let parsed = PowerAction(operatorText: action), !parsed.isIdentify else {
            throw ValidationError("the action must be on, shutdown, off, cycle or reset")
        }
        try PowerWaitOptions.ask(.power(slotID: slot, action: parsed, handOver: handOver), config: try target.load(), waiting: waiting)
    }
}

struct IdentifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identify", abstract: "Light a slot's identify LED, or put it out.",
        discussion: "Examples: chassisctl identify 3 on; chassisctl identify 3 off")
    @OptionGroup var target: BladeOptions
    @Argument(help: "The slot.") var slot: Int
    @Argument(help: "on or off.") var state: String
    @OptionGroup var waiting: PowerWaitOptions

    func run() throws {
        guard let parsed = PowerAction(rawValue: "identify-" + state.lowercased()) else { throw ValidationError("on or off") }
        try PowerWaitOptions.ask(.power(slotID: slot, action: parsed, handOver: false), config: try target.load(), waiting: waiting)
    }
}

struct PowerWaitOptions: ParsableArguments {
    @Flag(help: "Return once the action is recorded, without waiting for its result.") var noWait = false
    @Option(help: "Give up waiting for the result after this many seconds (the action goes on).") var timeout: Double = 120
    @Flag(help: "Print the action's record as JSON.") var json = false

    /// Sends the request; then (unless --no-wait) waits until the action is finished and prints
    /// how it ended. Fails when it failed or was interrupted.
    static func ask(_ request: ControlRequest, config: BladeConfig, waiting: PowerWaitOptions) throws {
        let response = try AccessCommands.send(request, config)
        guard let id = response.id else { return print("asked") }
        if case .power(_, _, true) = request {
            // This blade hands over and is then stopped: its store cannot tell how it went.
            return print("asked (action \(id)): this blade hands over, and the next active manager carries it out; follow it in the event log")
        }
        guard !waiting.noWait else {
            return print(waiting.json ? "{\"id\":\(id),\"state\":\"requested\"}" : "asked (action \(id)); follow it in the event log")
        }
        let reader = AccessCommands.reader(config)
        let deadline = Date().addingTimeInterval(waiting.timeout)
        while Date() < deadline {
            if let record = try reader.powerActions().first(where: { $0.id == id }), record.state.isFinished {
                if waiting.json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    print(String(decoding: try encoder.encode(record), as: UTF8.self))
                } else {
                    print("slot \(record.slotID): \(record.action.text) \(record.state.rawValue)"
                          + (record.output.isEmpty ? "" : "\n" + record.output.trimmingCharacters(in: .whitespacesAndNewlines)))
                }
                if record.state != .succeeded { throw ExitCode(1) }
                return
            }
            usleep(200_000)
        }
        throw ValidationError("action \(id) not finished after \(Int(waiting.timeout)) s; it goes on: see the event log")
    }
}
