import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Simulation

// chassis-sim: runs random fault schedules of a whole chassis on simulated time.
//   chassis-sim --seed S [--verbose]      replays one schedule
//   chassis-sim --schedules K [--seed S]  runs K schedules from seed S (default 1)
//   chassis-sim --bench                   measures messages stepped per second by one core
//   --engine-timing                       runs the cores with chassis-engine's timing (Config.engine)

/// The command line (swift-argument-parser: `--help`, the man page and shell completions come
/// from this declaration).
struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chassis-sim",
        abstract: "The consensus core of a whole chassis under random fault schedules, on simulated time.",
        discussion: """
        Every schedule (2 to 16 blades, a witness or not; crashes, restarts, partitions, lost, \
        late and repeated messages, paused processes, clock drift, membership changes, \
        hand-overs) checks safety (never two active managers at once, no committed entry lost or \
        changed, snapshots whole) and liveness (an active manager again after the faults heal). \
        A failing schedule prints its seed: replay it with --seed S --verbose.
        """)

    @Option(help: "The first schedule's seed.")
    var seed: UInt64 = 1

    @Option(help: "How many schedules to run.")
    var schedules = 1

    @Option(help: "Schedules run in parallel (1 to 64).")
    var jobs = 2

    @Flag(help: "Print the schedule's events (one schedule).")
    var verbose = false

    @Flag(help: "Also print every message delivered.")
    var traceMessages = false

    @Flag(help: "Tick every member every tick (default: only when a timer is due).")
    var eagerTicks = false

    @Flag(help: "The timing chassis-engine runs with (150 ms heartbeats, 100 ms stagger).")
    var engineTiming = false

    @Flag(help: "Measure messages stepped per second by one core.")
    var bench = false

    func validate() throws {
        guard schedules >= 1 else { throw ValidationError("--schedules must be at least 1") }
        guard (1...64).contains(jobs) else { throw ValidationError("--jobs must be 1 to 64") }
    }
}

let command = SimCommand.parseOrExit()
let seed = command.seed
let schedules = command.schedules
let verbose = command.verbose || command.traceMessages
let bench = command.bench
let jobs = command.jobs
let eagerTicks = command.eagerTicks
let engineTiming = command.engineTiming
if command.traceMessages { RandomSchedule.traceMessagesEnabled = true }

if bench {
    for line in Benchmark.run() { print(line) }
    exit(0)
}

var summary = ScheduleSummary()
if schedules == 1 {
    let result = RandomSchedule.run(seed: seed, eagerTicks: eagerTicks, engineTiming: engineTiming, trace: verbose ? { print($0) } : nil)
    summary.add(result)
} else {
    // Each schedule runs in one thread on its own simulated time; schedules are independent, so
    // they are spread over `jobs` threads and gathered in seed order.
    let workers = min(jobs, schedules)
    final class Box: @unchecked Sendable { var results: [[ScheduleResult]] = [] }
    let box = Box()
    box.results = Array(repeating: [], count: workers)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        var mine: [ScheduleResult] = []
        var index = worker
        while index < schedules {
            mine.append(RandomSchedule.run(seed: seed &+ UInt64(index), eagerTicks: eagerTicks, engineTiming: engineTiming))
            index += workers
        }
        box.results[worker] = mine
    }
    let all = box.results.flatMap { $0 }.sorted { $0.seed < $1.seed }
    for result in all { summary.add(result) }
}
for violation in summary.violations { print(violation) }
if verbose, let slowest = summary.slowestFailover {
    print("slowest failover: seed=\(slowest.seed) ms=\(slowest.us / 1000) messages=\(summary.messages)")
}
print(summary.line)
exit(summary.violations.isEmpty ? 0 : 1)
