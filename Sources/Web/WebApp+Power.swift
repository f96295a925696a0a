import Access
import Control
import Foundation
import Model

/// Power and identify of a slot: `POST /api/v1/chassis/{id}/slots/{n}/power` with
/// `{"action": "off"}` (on, shutdown, off, cycle, reset, identify-on, identify-off; `handOver`
/// for the active manager's own slot), and the module page's power panel, which asks for a
/// confirmation naming the slot and its module before it sends anything. Operators and admins.
extension WebApp {
    static let powerActionsText = PowerAction.allCases.map(\.rawValue).joined(separator: ", ")

    func apiSlotPower(_ exchange: Exchange, chassisID: String, slot slotText: String) throws -> Response {
        let current = try current(exchange)
        let slot = try slot(current, chassisID: chassisID, slot: slotText)
        let input = try decode(PowerInput.self, exchange)
        guard let action = PowerAction(operatorText: input.action) else {
            throw HTTPError(400, "action must be one of \(Self.powerActionsText)")
        }
        let request = ControlRequest.power(slotID: slot.slotID, action: action, handOver: input.handOver ?? false)
        if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
        var response = sendAsCaller(request, exchange)
        // Accepted: recorded in the log; the slot's `power` says when it is carried out.
        if response.status == 200 { response.status = 202 }
        return response
    }

    /// The power panel's form (`action=power`, `power=off`): without `confirm=yes` it only asks
    /// for the confirmation; with it, it sends the action.
    func powerFormAction(_ fields: [String: String], slot: SlotView, exchange: Exchange,
                         panel: inout PowerPanelView) throws -> String? {
        guard let text = fields["power"], let action = PowerAction(operatorText: text) else {
            throw HTTPError(400, "power must be one of \(Self.powerActionsText)")
        }
        let handOver = fields["handOver"] == "yes"
        guard fields["confirm"] == "yes" else {
            panel.confirm = PowerConfirmView(action: action.rawValue, verb: Self.capitalized(action.text),
                                             question: Self.confirmationQuestion(action, slot: slot, handOver: handOver),
                                             handOver: handOver)
            return nil
        }
        let request = ControlRequest.power(slotID: slot.slotID, action: action, handOver: handOver)
        if let problem = ControlValidation.problem(in: request) { throw HTTPError(400, problem) }
        try requireAccepted(sendAsCaller(request, exchange))
        return handOver
            ? "\(Self.capitalized(action.text)) of slot \(slot.slotID) asked: this blade hands over, and the next active manager carries it out."
            : "\(Self.capitalized(action.text)) of slot \(slot.slotID) asked: the active manager carries it out now."
    }

    /// "Power off slot 2 (web-1), module SIM-0002 (Simulated blade)?"
    static func confirmationQuestion(_ action: PowerAction, slot: SlotView, handOver: Bool) -> String {
        let name = slot.name.isEmpty ? "" : " (\(slot.name))"
        let module = slot.module.map { ", module \($0.serial)" + ($0.model.isEmpty ? "" : " (\($0.model))") } ?? ", which holds no module"
        let consequence: String
        switch action {
        case .off: consequence = " Its power is cut at once: what runs on it stops without warning."
        case .shutdown: consequence = " Its operating system is asked to shut down."
        case .cycle: consequence = " Its power is cut, then restored: what runs on it stops without warning."
        case .reset: consequence = " It restarts at once: what runs on it stops without warning."
        default: consequence = ""
        }
        let handing = handOver ? " This blade is the active manager: it hands over to another blade first." : ""
        return "\(capitalized(action.text)) slot \(slot.slotID)\(name)\(module)?\(consequence)\(handing)"
    }

    static func capitalized(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }

    /// The module page's power panel: the slot's power and identify LED, the actions under way,
    /// the last result, and (for operators) the buttons.
    static func powerPanel(_ slot: SlotView, canPower: Bool, isActiveManagerSlot: Bool) -> PowerPanelView {
        let power = slot.power ?? SlotPower()
        let state: String
        if power.powered {
            state = "On"
        } else {
            state = "Off" + (power.changedBy.map { " (by \($0)" + (power.changedAt.map { " at \(Format.time($0))" } ?? "") + ")" } ?? "")
        }
        let pending = power.pending.map { record in
            PowerPendingView(text: capitalized(record.action.text), by: record.requestedBy, at: Format.time(record.requestedAt),
                             state: record.state == .started ? "running" + (record.startedBy.map { " on \($0)" } ?? "") : "waiting")
        }
        let last = power.last.map { record in
            PowerResultView(text: capitalized(record.action.text), by: record.requestedBy, at: Format.time(record.finishedAt),
                            state: record.state.rawValue, failed: record.state != .succeeded,
                            output: record.output.isEmpty ? nil : record.output)
        }
        // Every button is rendered, those that do not fit the slot's state hidden: the page's
        // script shows the right ones as the state changes, without a reload.
        func button(_ action: PowerAction, danger: Bool, when: String) -> PowerButtonView {
            let shown: Bool
            switch when {
            case "on": shown = power.powered
            case "off": shown = !power.powered
            case "identify-on": shown = power.identify
            default: shown = !power.identify
            }
            return PowerButtonView(action: action.rawValue, label: capitalized(action.text), danger: danger,
                                   handOver: isActiveManagerSlot && action.interruptsBlade, when: when, hidden: !shown)
        }
        var buttons: [PowerButtonView] = []
        if canPower {
            buttons = [button(.shutdown, danger: false, when: "on"), button(.off, danger: true, when: "on"),
                       button(.cycle, danger: true, when: "on"), button(.reset, danger: true, when: "on"),
                       button(.on, danger: false, when: "off"),
                       button(.identifyOn, danger: false, when: "identify-off"), button(.identifyOff, danger: false, when: "identify-on")]
        }
        return PowerPanelView(state: state, powered: power.powered, identify: power.identify, pending: pending,
                              hasPending: !pending.isEmpty, last: last, buttons: buttons, canPower: canPower,
                              activeManagerSlot: isActiveManagerSlot)
    }
}

struct PowerInput: Decodable {
    var action: String
    var handOver: Bool?
}

struct PowerPanelView {
    var state: String
    var powered: Bool
    var identify: Bool
    var pending: [PowerPendingView]
    var hasPending: Bool
    var last: PowerResultView?
    var buttons: [PowerButtonView]
    var canPower: Bool
    var activeManagerSlot: Bool
    var confirm: PowerConfirmView? = nil
    var notice: String? = nil
    var problem: String? = nil
}

struct PowerPendingView {
    var text: String
    var by: String
    var at: String
    var state: String
}

struct PowerResultView {
    var text: String
    var by: String
    var at: String
    var state: String
    var failed: Bool
    var output: String?
}

struct PowerButtonView {
    var action: String
    var label: String
    var danger: Bool
    var handOver: Bool
    /// `on`, `off`, `identify-on` or `identify-off`: the state in which the button is shown.
    var when: String
    var hidden: Bool
}

struct PowerConfirmView {
    var action: String
    var verb: String
    var question: String
    var handOver: Bool
}
