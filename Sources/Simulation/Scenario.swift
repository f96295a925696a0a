import Consensus

/// Directed scenarios in a readable, data-driven format (in the manner of etcd raft's testdata):
/// blocks of one command line, a `----` line, and the expected output, separated by blank lines.
/// Lines starting with `#` are comments. `Scenario.run(script)` returns the same text with the
/// actual output in place of the expected, so a test compares the two and a golden file can be
/// rewritten from it.
///
/// Commands: `cluster blades=N [witness] [priority=mK:P] [seed=S]`, `run Nms`,
/// `wait-active Nms`, `crash mK`, `restart mK`, `pause mK Nms`, `isolate mK`,
/// `partition mA mB | mC ...`, `heal`, `handover [mK]`, `add mK`, `remove mK`,
/// `confirm-down mK on mJ`, `propose N`, `status`, `active`, `violations`.
public final class Scenario {
    var cluster: Cluster?
    var output: [String] = []
    var lastActive: [Int] = []

    /// Creates an empty scenario.
    public init() {}

    /// Runs a whole script and returns it with every block's output replaced by the actual one.
    public static func run(_ script: String) -> String {
        let scenario = Scenario()
        var result: [String] = []
        var lines = script.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var index = 0
        while index < lines.count {
            let line = lines[index]
            if line.hasPrefix("#") || line.trimmingSpaces().isEmpty {
                result.append(line)
                index += 1
                continue
            }
            // A command, then ----, then expected output up to a blank line.
            result.append(line)
            index += 1
            guard index < lines.count, lines[index] == "----" else {
                result.append("----")
                result.append(contentsOf: scenario.execute(line))
                continue
            }
            result.append("----")
            index += 1
            while index < lines.count && !lines[index].trimmingSpaces().isEmpty { index += 1 }
            result.append(contentsOf: scenario.execute(line))
        }
        return result.joined(separator: "\n") + "\n"
    }

    /// Executes one command line and returns its output lines.
    public func execute(_ line: String) -> [String] {
        output = []
        let words = line.split(separator: " ").map(String.init)
        guard let command = words.first else { return [] }
        let arguments = Array(words.dropFirst())
        if command == "cluster" {
            build(arguments)
            return output
        }
        guard let cluster else { return ["error: no cluster yet"] }
        switch command {
        case "run":
            runFor(milliseconds(arguments.first))
        case "wait-active":
            let start = cluster.nowUs
            let bound = milliseconds(arguments.first)
            let found = cluster.run(untilUs: start + bound * 1000) { self.observe(); return !self.liveActive().isEmpty }
            if let found {
                let names = liveActive().map { "\(cluster.member($0).id)" }.joined(separator: ", ")
                output.append("active: \(names) after \(roundedMs(found - start))")
            } else {
                output.append("no active manager within \(bound)ms")
                output.append(contentsOf: reasons())
            }
        case "crash":
            for slot in slots(arguments) { cluster.crash(slot); output.append("crashed \(cluster.member(slot).id)") }
        case "restart":
            for slot in slots(arguments) { cluster.restart(slot); output.append("restarted \(cluster.member(slot).id)") }
        case "pause":
            guard let slot = slots(Array(arguments.prefix(1))).first else { break }
            let duration = milliseconds(arguments.dropFirst().first)
            cluster.pause(slot, durationUs: duration * 1000)
            output.append("paused \(cluster.member(slot).id) for \(duration)ms")
        case "isolate":
            for slot in slots(arguments) { cluster.partition([slot]) }
            output.append("isolated \(arguments.joined(separator: " "))")
        case "partition":
            let left = arguments.prefix { $0 != "|" }
            cluster.partition(slots(Array(left)))
            output.append("partitioned \(arguments.joined(separator: " "))")
        case "heal":
            cluster.heal()
            output.append("healed")
        case "handover":
            guard let leader = cluster.currentLeaderSlot() else {
                output.append("no leader")
                break
            }
            let target = slots(arguments).first.map { cluster.member($0).id }
            do {
                guard let node = cluster.node(leader) else { break }
                let ready = try node.handOver(to: target)
                cluster.handle(cluster.members[leader], ready)
                output.append("\(cluster.member(leader).id) hands over\(target.map { " to \($0)" } ?? "")")
            } catch {
                output.append("refused: \(error)")
            }
        case "add":
            guard let name = arguments.first, let number = UInt32(name.dropFirst()) else { break }
            let member = Member(id: MemberID(number), address: "127.0.1.\(number)")
            let sim = cluster.addSimMember(member)
            cluster.startFresh(sim.slot, initial: [])
            requestAtLeader("add \(member.id)") { try $0.addMember(member) }
        case "remove":
            guard let slot = slots(arguments).first else { break }
            let id = cluster.member(slot).id
            requestAtLeader("remove \(id)") { try $0.removeMember(id) }
        case "confirm-down":
            // confirm-down mK on mJ
            guard arguments.count == 3, let down = slots([arguments[0]]).first,
                  let on = slots([arguments[2]]).first else { break }
            cluster.powerOff(down)
            _ = cluster.request(on) { $0.confirmDown(cluster.member(down).id) }
            output.append("\(cluster.member(on).id) told \(cluster.member(down).id) is powered off")
        case "propose":
            let count = Int(arguments.first ?? "1") ?? 1
            var accepted = 0
            var last: LogIndex = 0
            for number in 0..<count {
                var command: [UInt8] = []
                appendUInt64(&command, UInt64(0x5000 + number))
                if let index = cluster.propose(command) {
                    accepted += 1
                    last = index
                }
            }
            output.append("proposed \(accepted) of \(count)")
            if accepted > 0 {
                let done = cluster.run(untilUs: cluster.nowUs + 1_000_000) { cluster.highestCommitted >= last }
                output.append(done != nil ? "committed through \(last)" : "not committed within 1000ms")
            }
        case "status":
            output.append(contentsOf: status())
        case "active":
            let active = liveActive()
            if active.isEmpty {
                output.append("active: none")
                output.append(contentsOf: reasons())
            } else {
                output.append("active: " + active.map { "\(cluster.member($0).id)" }.joined(separator: ", "))
            }
        case "violations":
            output.append(cluster.violations.isEmpty ? "none" : cluster.violations.joined(separator: "\n"))
        default:
            output.append("error: unknown command \(command)")
        }
        return output
    }

    func build(_ arguments: [String]) {
        var blades = 3
        var witness = false
        var seed: UInt64 = 1
        var priorities: [UInt32: Int] = [:]
        for argument in arguments {
            let parts = argument.split(separator: "=").map(String.init)
            switch parts[0] {
            case "blades": blades = Int(parts[1]) ?? 3
            case "witness": witness = true
            case "seed": seed = UInt64(parts[1]) ?? 1
            case "priority":
                let pair = parts[1].split(separator: ":")
                if pair.count == 2, let id = UInt32(pair[0].dropFirst()), let value = Int(pair[1]) { priorities[id] = value }
            default: output.append("error: unknown option \(argument)")
            }
        }
        var options = Cluster.Options()
        options.config.limits.snapshotThresholdEntries = 16
        options.config.limits.pendingProposalsMax = 64
        options.config.limits.logEntriesInMemoryMax = 256
        // Every tick is an event here, so changes are observed at the tick they happen.
        options.lazyTicks = false
        let cluster = Cluster(options: options, seed: seed)
        var initial: [Member] = []
        for number in 1...blades {
            let id = UInt32(number)
            initial.append(Member(id: MemberID(id), address: "127.0.1.\(number)", priority: priorities[id]))
        }
        if witness { initial.append(Member(id: MemberID(100), address: "127.0.2.1", isWitness: true)) }
        for member in initial { cluster.addSimMember(member) }
        for slot in initial.indices { cluster.startFresh(slot, initial: initial) }
        self.cluster = cluster
        lastActive = []
        output.append("members: " + initial.map { $0.description }.joined(separator: ", "))
    }

    func runFor(_ milliseconds: Int) {
        guard let cluster else { return }
        let until = cluster.nowUs + milliseconds * 1000
        cluster.run(untilUs: until) { self.observe(); return false }
        observe()
    }

    /// Members that are up and active. (The checker also counts the published lease of a crashed
    /// member until it runs out; scenarios report running members only.)
    func liveActive() -> [Int] {
        guard let cluster else { return [] }
        return cluster.activeSlots().filter { cluster.isUp($0) }
    }

    /// Notes every change of the set of active members.
    func observe() {
        guard let cluster else { return }
        let active = liveActive()
        if active != lastActive {
            let names = active.map { member in
                "\(cluster.member(member).id) (term \(cluster.node(member)?.term ?? 0))"
            }
            output.append("\(roundedMs(cluster.nowUs)): active " + (names.isEmpty ? "none" : names.joined(separator: ", ")))
            lastActive = active
        }
    }

    func requestAtLeader(_ what: String, _ body: (Node) throws -> Ready) {
        guard let cluster, let leader = cluster.currentLeaderSlot(), let node = cluster.node(leader) else {
            output.append("\(what): no leader")
            return
        }
        do {
            let ready = try body(node)
            cluster.handle(cluster.members[leader], ready)
            output.append("\(what): appended at \(ready.appended?.index ?? 0) by \(node.id)")
        } catch {
            output.append("\(what): refused: \(error)")
        }
    }

    func status() -> [String] {
        guard let cluster else { return [] }
        var lines: [String] = []
        for slot in 0..<cluster.slotCount {
            let member = cluster.member(slot)
            guard let node = cluster.node(slot) else {
                lines.append("\(member.id): down")
                continue
            }
            var text = "\(member.id): \(node.role) term \(node.term)"
            if let leader = node.leader { text += " leader \(leader)" }
            text += " applied \(cluster.appliedIndex(slot))"
            if node.snapshot.index > 0 { text += " snapshot \(node.snapshot.index)" }
            if cluster.isActive(slot) { text += " ACTIVE" }
            if cluster.isPaused(slot) { text += " paused" }
            lines.append(text)
        }
        return lines
    }

    func reasons() -> [String] {
        guard let cluster else { return [] }
        var lines: [String] = []
        for slot in 0..<cluster.slotCount {
            guard let node = cluster.node(slot), let reason = node.status.noActiveReason else { continue }
            lines.append("\(cluster.member(slot).id): \(reason)")
        }
        return lines
    }

    func slots(_ names: [String]) -> [Int] {
        guard let cluster else { return [] }
        return names.compactMap { name in
            guard let number = UInt32(name.dropFirst()) else { return nil }
            return cluster.slot(of: MemberID(number))
        }
    }

    func milliseconds(_ text: String?) -> Int {
        guard var text else { return 0 }
        if text.hasSuffix("ms") { text.removeLast(2) }
        return Int(text) ?? 0
    }

    /// Rounds to 10 ms, so that the golden output reads at the scale that matters.
    func roundedMs(_ us: Int) -> String {
        "\((us + 5_000) / 10_000 * 10)ms"
    }
}

extension String {
    func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return String(text)
    }
}
