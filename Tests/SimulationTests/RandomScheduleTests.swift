import Consensus
import Foundation
import Simulation
import Testing

/// Random fault schedules inside `swift test`. `make test` runs thousands more through the
/// release-built `chassis-sim`. CHASSIS_SIM_SEED and CHASSIS_SIM_SCHEDULES override the range.
struct RandomScheduleTests {
    static let environment = ProcessInfo.processInfo.environment
    static let firstSeed = UInt64(environment["CHASSIS_SIM_SEED"] ?? "") ?? 1
    static let count = Int(environment["CHASSIS_SIM_SCHEDULES"] ?? "") ?? 500

    @Test("random schedules hold every safety and liveness property")
    func randomSchedules() {
        var summary = ScheduleSummary()
        for offset in 0..<Self.count {
            summary.add(RandomSchedule.run(seed: Self.firstSeed + UInt64(offset)))
        }
        for violation in summary.violations {
            Issue.record("\(violation) — replay with: chassis-sim --seed <seed> --verbose")
        }
        print(summary.line)
        #expect(summary.violations.isEmpty)
        #expect(summary.failoverMs(quantile: 0.5) <= 1000)
        #expect(summary.failoverMs(quantile: 0.99) <= 1500)
    }

    @Test("schedules that tick every tick (no deadline skipping) hold too")
    func eagerTicks() {
        var summary = ScheduleSummary()
        for offset in 0..<60 {
            summary.add(RandomSchedule.run(seed: 90_000 + UInt64(offset), eagerTicks: true))
        }
        for violation in summary.violations { Issue.record("\(violation) (eager ticks)") }
        #expect(summary.violations.isEmpty)
    }

    @Test("a seed replays exactly")
    func replay() {
        let first = RandomSchedule.run(seed: 4242)
        let second = RandomSchedule.run(seed: 4242)
        #expect(first.failoverUs == second.failoverUs)
        #expect(first.messages == second.messages)
        #expect(first.simulatedUs == second.simulatedUs)
    }

    @Test("the summary line has the exact form")
    func summaryLine() {
        var summary = ScheduleSummary()
        summary.add(ScheduleResult(seed: 1, blades: 3, witness: false, violations: [], failoverUs: 520_000,
                                   messages: 10, simulatedUs: 1))
        summary.add(ScheduleResult(seed: 2, blades: 3, witness: false, violations: ["x"], failoverUs: 610_400,
                                   messages: 10, simulatedUs: 1))
        #expect(summary.line == "simulated: schedules=2 violations=1 failover_ms_p50=520 failover_ms_p99=610 failover_ms_max=610")
    }

    @Test("a healthy cluster reports no violation")
    func healthyClusterIsQuiet() {
        // A healthy cluster elects the lowest address and reports nothing.
        let cluster = Cluster(seed: 9)
        let members = (1...3).map { Member(id: MemberID(UInt32($0)), address: "127.0.1.\($0)") }
        for member in members { _ = cluster.add(member) }
        for slot in 0..<3 { cluster.start(slot, initial: members) }
        cluster.run(untilUs: 1_000_000)
        #expect(cluster.activeSlots() == [0])
        #expect(cluster.violations.isEmpty)
    }
}
