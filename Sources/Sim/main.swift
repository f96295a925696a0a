import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Simulation

// chassis-sim: runs random fault schedules of a whole chassis on simulated time.
//   chassis-sim --seed S [--verbose]      replays one schedule
//   chassis-sim --schedules K [--seed S]  runs K schedules from seed S (default 1)
//   chassis-sim --bench                   measures messages stepped per second by one core
//   --engine-timing                       runs the cores with chassis-engine's timing (Config.engine)

let usageLine = "usage: chassis-sim [--seed S] [--schedules K] [--verbose] [--trace-messages] [--jobs N] [--eager-ticks] [--engine-timing] | --bench"

func usage() -> Never {
    fputs(usageLine + "\n", stderr)
    exit(2)
}

func help() -> Never {
    print("""
    chassis-sim: the consensus core of a whole chassis under random fault schedules, on simulated
    time; every schedule checks safety (one active manager at a time, no committed entry lost)
    and liveness. A failing schedule prints its seed: replay it with --seed S --verbose.

    \(usageLine)

      --seed S          the first schedule's seed (default 1)
      --schedules K     how many schedules to run (default 1)
      --jobs N          schedules run in parallel (default 2, at most 64)
      --verbose         print the schedule's events (one schedule)
      --trace-messages  also print every message delivered
      --eager-ticks     tick every member every tick (default: only when a timer is due)
      --engine-timing   the timing chassis-engine runs with (150 ms heartbeats, 100 ms stagger)
      --bench           measure messages stepped per second by one core
      -h, --help        this text
    """)
    exit(0)
}

var seed: UInt64 = 1
var schedules = 1
var verbose = false
var bench = false
var jobs = 2
var eagerTicks = false
var engineTiming = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--seed":
        guard let value = arguments.popFirst(), let parsed = UInt64(value) else { usage() }
        seed = parsed
    case "--schedules":
        guard let value = arguments.popFirst(), let parsed = Int(value), parsed >= 1 else { usage() }
        schedules = parsed
    case "--jobs":
        guard let value = arguments.popFirst(), let parsed = Int(value), parsed >= 1, parsed <= 64 else { usage() }
        jobs = parsed
    case "--eager-ticks":
        eagerTicks = true
    case "--engine-timing":
        engineTiming = true
    case "--verbose":
        verbose = true
    case "--trace-messages":
        RandomSchedule.traceMessagesEnabled = true
        verbose = true
    case "--bench":
        bench = true
    case "--help", "-h":
        help()
    default:
        usage()
    }
}

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
