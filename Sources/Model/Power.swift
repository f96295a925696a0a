/// What an operator asks of a slot's power or its identify LED. Carried out by the active manager
/// through the configured commands (`[chassis] power_command`, `identify_command`).
public enum PowerAction: String, Sendable, Codable, CaseIterable {
    case on
    /// Asks the operating system to shut down (ACPI soft-off): the blade stops by itself.
    case shutdown
    /// Cuts the power at once.
    case off
    /// Off, then on again.
    case cycle
    /// A hard reset; the power stays on.
    case reset
    case identifyOn = "identify-on"
    case identifyOff = "identify-off"

    /// Whether running the action twice leaves the slot as running it once does. Only these are
    /// run again by a new active manager that finds them started and not finished; a cycle or a
    /// reset is reported as interrupted instead, never run twice.
    public var isIdempotent: Bool {
        switch self {
        case .on, .shutdown, .off, .identifyOn, .identifyOff: return true
        case .cycle, .reset: return false
        }
    }

    /// Whether the action stops the blade's processes for a while (or for good): refused on the
    /// active manager's own slot, and the blade's silence it causes is not an alert.
    public var interruptsBlade: Bool {
        switch self {
        case .shutdown, .off, .cycle, .reset: return true
        case .on, .identifyOn, .identifyOff: return false
        }
    }

    public var isIdentify: Bool { self == .identifyOn || self == .identifyOff }

    /// The word given to the command as `{action}`: `on`, `off`, `shutdown`, `cycle`, `reset`
    /// for the power command; `on` or `off` for the identify command.
    public var commandArgument: String {
        switch self {
        case .identifyOn: return "on"
        case .identifyOff: return "off"
        default: return rawValue
        }
    }

    /// Whether the slot is powered once the action succeeded (nil: the action says nothing of it).
    public var leavesPowered: Bool? {
        switch self {
        case .on, .cycle, .reset: return true
        case .shutdown, .off: return false
        case .identifyOn, .identifyOff: return nil
        }
    }

    /// For people: "power off", "shut down" …
    public var text: String {
        switch self {
        case .on: return "power on"
        case .shutdown: return "shut down"
        case .off: return "power off"
        case .cycle: return "power cycle"
        case .reset: return "reset"
        case .identifyOn: return "identify on"
        case .identifyOff: return "identify off"
        }
    }

    /// Parses what an operator types: the raw values, and `identify on|off` as two words.
    public init?(operatorText text: String) {
        let words = text.lowercased().split(whereSeparator: { $0 == " " || $0 == "_" || $0 == "-" }).joined(separator: "-")
        self.init(rawValue: words)
    }
}

/// Where an action is on its way: requested (committed), started (committed before the command
/// runs), then one of the three ends.
public enum PowerActionState: String, Sendable, Codable, CaseIterable {
    case requested
    case started
    case succeeded
    case failed
    /// Started by an active manager that stopped being one before it said how it went: not run
    /// again (a cycle or a reset), its outcome unknown.
    case interrupted

    public var isFinished: Bool { self == .succeeded || self == .failed || self == .interrupted }
}

/// One action of the replicated log, as every blade holds it.
public struct PowerActionRecord: Sendable, Codable, Equatable {
    public var id: Int64
    public var slotID: Int
    public var action: PowerAction
    public var requestedBy: String
    public var requestedAt: Double
    public var state: PowerActionState
    /// The blade whose active manager started it last, and when.
    public var startedBy: String?
    public var startedAt: Double?
    /// How many times it was started (an idempotent action is started again after a failover).
    public var attempts: Int
    public var finishedAt: Double?
    /// The command's exit status (nil: killed at its timeout, never run, or interrupted).
    public var exitStatus: Int?
    /// The end of the command's output, or why it did not run.
    public var output: String

    /// Output kept in the log and shown: the last bytes of it.
    public static let outputBytesMax = 2_000
    /// Finished actions kept per chassis (the newest).
    public static let recordsMax = 500
    /// Unfinished actions a chassis holds at most: more are refused.
    public static let pendingMax = 64

    public init(id: Int64, slotID: Int, action: PowerAction, requestedBy: String, requestedAt: Double,
                state: PowerActionState = .requested, startedBy: String? = nil, startedAt: Double? = nil, attempts: Int = 0,
                finishedAt: Double? = nil, exitStatus: Int? = nil, output: String = "") {
        self.id = id
        self.slotID = slotID
        self.action = action
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.state = state
        self.startedBy = startedBy
        self.startedAt = startedAt
        self.attempts = attempts
        self.finishedAt = finishedAt
        self.exitStatus = exitStatus
        self.output = output
    }

    /// The last `outputBytesMax` bytes of `text`, cut at a character boundary.
    public static func clipped(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count > outputBytesMax else { return text }
        var start = bytes.count - outputBytesMax
        while start < bytes.count && bytes[start] & 0xC0 == 0x80 { start += 1 }
        return "…" + String(decoding: bytes[start...], as: UTF8.self)
    }
}

/// A slot's power and identify LED as the replicated log knows them: what operators asked and
/// what the commands answered. A blade powered off by an operator is not a failure.
public struct SlotPower: Sendable, Codable, Equatable {
    /// False once an operator's shut-down or power-off succeeded, until a power-on, cycle or reset.
    public var powered: Bool
    /// Who turned it off or on last, and when (nil: no operator ever did).
    public var changedBy: String?
    public var changedAt: Double?
    public var identify: Bool
    /// Actions not finished yet, oldest first.
    public var pending: [PowerActionRecord]
    /// The newest finished action.
    public var last: PowerActionRecord?

    public init(powered: Bool = true, changedBy: String? = nil, changedAt: Double? = nil, identify: Bool = false,
                pending: [PowerActionRecord] = [], last: PowerActionRecord? = nil) {
        self.powered = powered
        self.changedBy = changedBy
        self.changedAt = changedAt
        self.identify = identify
        self.pending = pending
        self.last = last
    }

    /// The slot's power from its actions (any order): the newest successful action that says
    /// something of the power decides it; likewise for the identify LED.
    public static func derive(from actions: [PowerActionRecord]) -> SlotPower {
        var power = SlotPower()
        let ordered = actions.sorted { $0.id < $1.id }
        for record in ordered {
            if !record.state.isFinished { power.pending.append(record); continue }
            power.last = record
            guard record.state == .succeeded else { continue }
            if let powered = record.action.leavesPowered {
                (power.powered, power.changedBy, power.changedAt) = (powered, record.requestedBy, record.finishedAt)
            } else {
                power.identify = record.action == .identifyOn
            }
        }
        return power
    }

    /// Whether the blade's silence is expected (powered off, or an action that interrupts it is
    /// under way or ended less than `bootSeconds` ago and the blade has not reported since), and
    /// why; nil when silence is a failure.
    public func expectsSilence(lastReportAt: Double?, now: Double, bootSeconds: Double) -> String? {
        if !powered { return "powered off by \(changedBy ?? "an operator")" }
        if let action = pending.first(where: { $0.action.interruptsBlade || $0.action == .on }) {
            return "\(action.action.text) under way"
        }
        if let last, last.action.interruptsBlade || last.action == .on, let finished = last.finishedAt,
           now - finished < bootSeconds, (lastReportAt ?? 0) < finished {
            return "starting after \(last.action.text)"
        }
        return nil
    }
}

/// What the active manager does next about the unfinished actions: a pure function of the
/// replicated records and of what this blade itself is running, so that a failover in the middle
/// is decided by the log alone.
public enum PowerPlan {
    public enum Step: Sendable, Equatable {
        /// Record the action as started (attempt number), then run it.
        case start(id: Int64, attempt: Int)
        /// Record the action as finished with this state and reason, without running it.
        case finish(id: Int64, state: PowerActionState, reason: String)
    }

    /// An idempotent action is started at most this many times.
    public static let attemptsMax = 3

    /// - Parameters:
    ///   - pending: the unfinished actions of the log.
    ///   - me: this blade's name; `ownSlot` its slot.
    ///   - running: the actions this blade's engine is running now (started by it since it started).
    ///   - now: wall clock, for how long an action waited for a hand-over.
    ///   - handOverWaitSeconds: how long an action on the active manager's own slot waits for the
    ///     hand-over that was asked with it before it fails.
    public static func steps(pending: [PowerActionRecord], me: String, ownSlot: Int, running: Set<Int64>, now: Double,
                             handOverWaitSeconds: Double = 30) -> [Step] {
        var steps: [Step] = []
        var busySlots = Set<Int>()
        for record in pending.sorted(by: { $0.id < $1.id }) where !record.state.isFinished {
            // One action at a time per slot, in the order they were asked.
            guard !busySlots.contains(record.slotID) else { continue }
            busySlots.insert(record.slotID)
            if running.contains(record.id) { continue }
            if record.slotID == ownSlot && record.action.interruptsBlade {
                // Asked with a hand-over: the next active manager runs it. This blade never does.
                if now - record.requestedAt >= handOverWaitSeconds {
                    steps.append(.finish(id: record.id, state: .failed,
                                         reason: "slot \(ownSlot) holds the active manager (\(me)) and no other blade took over within \(Int(handOverWaitSeconds)) s: not run"))
                }
                continue
            }
            switch record.state {
            case .requested:
                steps.append(.start(id: record.id, attempt: record.attempts + 1))
            case .started where record.action.isIdempotent && record.attempts < attemptsMax:
                steps.append(.start(id: record.id, attempt: record.attempts + 1))
            case .started where record.action.isIdempotent:
                steps.append(.finish(id: record.id, state: .failed,
                                     reason: "started \(record.attempts) times without an answer; not run again"))
            case .started:
                let by = record.startedBy ?? "another blade"
                steps.append(.finish(id: record.id, state: .interrupted,
                                     reason: "started by \(by) at \(Format.time(record.startedAt)), which stopped being the active manager before it reported the result; a \(record.action.text) is never run twice: check the slot"))
            default:
                break
            }
        }
        return steps
    }
}

/// The checks an active manager makes before it records an action that stops a blade.
public enum PowerGuard {
    /// Why stopping the blade of `slotID` would leave the chassis without a majority of its
    /// members up (it could then decide nothing, not even to power the blade on again); nil when
    /// it would not. A two-blade chassis whose fence confirms a powered-off blade
    /// (`fenceConfirms`) keeps deciding with one.
    public static func majorityProblem(members: [ClusterMember], slotID: Int, action: PowerAction,
                                       fenceConfirms: Bool = false) -> String? {
        guard action.interruptsBlade, !members.isEmpty else { return nil }
        if fenceConfirms && members.count == 2 && !members.contains(where: { $0.role == .witness }) { return nil }
        let up = members.filter { $0.role != .down && $0.role != .unknown }
        let target = up.first { $0.slotID == slotID }
        let remaining = up.count - (target == nil ? 0 : 1)
        let needed = members.count / 2 + 1
        guard remaining < needed else { return nil }
        let name = target.map { " (\($0.name))" } ?? ""
        return "\(action.text) of slot \(slotID)\(name) would leave \(remaining) of \(members.count) members up, and the chassis needs \(needed) to decide anything (even to power it on again): bring another member up first"
    }
}
