@testable import CLI
import Foundation
import Model
import Testing

/// The console's view (`chassisctl status`) and the demo's numbering, as an operator reads them.
@Suite struct StatusTextTests {
    static let now = 1_800_000_000.0

    static func snapshot(power: SlotPower?) -> ChassisSnapshot {
        let temperature = MetricDescriptor(key: "hwmon.t1", label: "CPU temperature", metricClass: .health, unit: "celsius",
                                           source: "libsensors", replication: .dynamic, group: .sensors, component: "coretemp",
                                           prometheusName: "node_hwmon_temp_celsius")
        let counter = MetricDescriptor(key: "cpu.core0.seconds.idle", label: "CPU 0 idle time", metricClass: .performance,
                                       unit: "seconds", source: "proc.cpu", replication: .local, group: .cpu,
                                       component: MetricDescriptor.countersComponent, prometheusName: "node_cpu_seconds_total")
        func value(_ descriptor: MetricDescriptor, _ number: Double) -> MetricValue {
            MetricValue(descriptor: descriptor, value: number, text: nil, fault: nil, sampledAt: now, thresholds: .none,
                        status: .ok, thresholdSource: "built-in")
        }
        let module = ModuleInfo(serial: "SN-2", model: "CM-Blade", revision: "B", manufacturer: "ACME", macAddresses: [],
                                ipAddresses: [], installedAt: now - 86_400)
        var slot = SlotView(slotID: 2, name: "web-1", moduleType: ModuleType(role: "blade", function: "", expectedModel: ""),
                            status: power?.powered == false ? .off : .ok, module: module, history: [module],
                            metrics: [value(temperature, 45), value(counter, 12_345)], lastReportAt: now - 1, downSince: nil)
        slot.power = power
        return ChassisSnapshot(dataVersion: "v", generatedAt: now,
                               chassis: ChassisInfo(chassisID: "660007770088", name: "Rack A", site: "Lab", row: "", rack: "",
                                                    shelf: "", slotCount: 2, status: .ok),
                               slots: [slot], chassisMetrics: [], alerts: [],
                               engine: EngineFreshness(updatedAt: now - 0.5, stale: false))
    }

    static let local = LocalView(blade: "blade1", address: "127.0.1.1", slotID: 1, role: .active, term: 3,
                                 activeAddress: "127.0.1.1", activeURL: nil, leaseValid: true,
                                 engine: EngineFreshness(updatedAt: now - 0.5, stale: false))

    @Test func aSlotPoweredOffSaysByWhomAndWhen() {
        let power = SlotPower(powered: false, changedBy: "alice", changedAt: Self.now - 60, identify: true)
        let text = StatusText.render(Self.snapshot(power: power), local: Self.local, now: Self.now)
        #expect(text.contains("slot 2 \"web-1\" (blade) [OFF] powered off by alice at "), "\(text)")
        #expect(text.contains("(identify LED lit)"))
    }

    @Test func countersAreForPrometheusNotTheConsole() {
        let text = StatusText.render(Self.snapshot(power: nil), local: Self.local, now: Self.now)
        #expect(text.contains("CPU temperature"))
        #expect(!text.contains("CPU 0 idle time") && !text.contains("counters"), "\(text)")
        #expect(!text.contains("powered off"))
    }

    @Test func demoChassisAreNumberedByTheirAddresses() {
        #expect(Demo.address(of: 3) == "127.0.1.3")
        #expect(Demo.address(of: 5, chassis: 2) == "127.0.2.5")
        #expect(Demo.chassisID(1) == "660007770088" && Demo.chassisID(2) == "660007770089")
    }
}
