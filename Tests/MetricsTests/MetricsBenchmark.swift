import Foundation
import XCTest
import Model
@testable import Metrics

/// An opt-in measurement, not a test: with `CHASSIS_METRICS_BENCH=1` it prints the CPU time one
/// sample of each group costs and the resulting share of one core at the default intervals.
/// Run a release build: `swift build -c release -Xswiftc -enable-testing --build-tests`, then
/// `CHASSIS_METRICS_BENCH=1 .build/release/ChassisManagerPackageTests.xctest MetricsTests.MetricsBenchmark`.
/// With `CHASSIS_METRICS_BENCH_SIM=DIR` it samples a simulated blade too (stepping the simulation
/// and reading it through libsensors): run it under `unshare` with `DIR/class` bound over `/sys/class`.
final class MetricsBenchmark: XCTestCase {
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    func testMeasure() throws {
        let environment = ProcessInfo.processInfo.environment
        guard environment["CHASSIS_METRICS_BENCH"] != nil else { return }
        let simulated = environment["CHASSIS_METRICS_BENCH_SIM"]
        let set = CollectorSet(settings: CollectorSettings(chassisID: "C", slotID: "1", simulatedDirectory: simulated,
                                                           sensorsEnabled: simulated != nil))
        print("bench setup errors: \(set.setupErrors)")
        let iterations = 500
        var coreShare = 0.0
        for group in set.groups {
            _ = set.sample(group)
            let start = Self.cpuSeconds()
            var count = 0
            for _ in 0..<iterations { count = set.sample(group).readings.count }
            let perSample = (Self.cpuSeconds() - start) / Double(iterations)
            let share = perSample / (Double(group.defaultIntervalMs) / 1000)
            if group != .identification { coreShare += share }
            let name = group.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)
            print("bench \(name)" + String(format: "%4d readings  %8.1f us/sample  %.4f%% of a core",
                                            count, perSample * 1e6, share * 100))
        }
        print(String(format: "bench total (without identification): %.4f%% of one core", coreShare * 100))
    }
}
