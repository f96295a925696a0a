import Model
import Testing
@testable import Access

@Suite struct CustomerViewTests {
    static let chassisID = AccessFixture.chassisID

    static func metric(_ key: String, _ value: Double) -> MetricValue {
        MetricValue(descriptor: MetricDescriptor(key: key, label: key, metricClass: .health, unit: "celsius", source: "test",
                                                 replication: .dynamic, group: .sensors, component: "chip",
                                                 prometheusName: "node_hwmon_temp_celsius", prometheusLabels: [:], limits: .none),
                    value: value, text: nil, fault: nil, sampledAt: AccessFixture.now, thresholds: .none, status: .ok)
    }

    static func slot(_ id: Int) -> SlotView {
        let module = ModuleInfo(serial: "SER-\(id)", model: "M", revision: "A", manufacturer: "X", macAddresses: ["02:00:00:00:00:0\(id)"],
                                ipAddresses: ["10.0.0.\(id)"], installedAt: 1)
        return SlotView(slotID: id, name: "slot-\(id)", moduleType: ModuleType(role: "blade", function: "", expectedModel: ""),
                        status: .ok, module: module, history: [module], metrics: [metric("t\(id)", Double(id))],
                        lastReportAt: 1, downSince: nil)
    }

    static func alert(_ id: Int64, slot: Int?) -> Alert {
        Alert(id: id, slotID: slot, metricKey: "t", metricLabel: "t", severity: .warning, message: "alert \(id)", value: 1,
              raisedAt: 1, clearedAt: nil, acknowledgedAt: nil, acknowledgedBy: nil)
    }

    static let snapshot = ChassisSnapshot(
        dataVersion: "v1", generatedAt: 1,
        chassis: ChassisInfo(chassisID: chassisID, name: "Rack", site: "DC", row: "1", rack: "2", shelf: "3", slotCount: 8,
                             status: .critical),
        slots: (1...5).map(slot), chassisMetrics: [metric("psu.1.power", 800)],
        alerts: [alert(1, slot: 1), alert(2, slot: 2), alert(3, slot: 3), alert(4, slot: 4), alert(5, slot: nil)],
        engine: EngineFreshness(updatedAt: 1, stale: false))

    @Test func aCustomerKeepsItsSlotsAndTheirAlertsOnly() {
        let view = CustomerView.project(Self.snapshot, scope: AccessScope(slots: [2, 3]))
        #expect(view.slots.map(\.slotID) == [2, 3])
        #expect(view.slots == [Self.slot(2), Self.slot(3)])
        #expect(view.alerts.map(\.id) == [2, 3])
        #expect(view.chassisMetrics.isEmpty, "the chassis' own devices are no customer's")
        #expect(!view.alerts.contains { $0.slotID == nil }, "chassis-level alerts are dropped")
        // The overall status line stays.
        #expect(view.chassis == Self.snapshot.chassis)
        #expect(view.engine == Self.snapshot.engine)
        #expect(view.dataVersion == Self.snapshot.dataVersion)
    }

    @Test func staffSeeEverything() {
        #expect(CustomerView.project(Self.snapshot, scope: nil) == Self.snapshot)
    }

    @Test func aScopeOfAnotherChassisSeesNothingHere() {
        let view = CustomerView.project(Self.snapshot, scope: AccessScope(chassisID: "111111111111", slots: [2, 3]))
        #expect(view.slots.isEmpty)
        #expect(view.alerts.isEmpty)
        let same = CustomerView.project(Self.snapshot, scope: AccessScope(chassisID: Self.chassisID, slots: [4]))
        #expect(same.slots.map(\.slotID) == [4])
        #expect(same.alerts.map(\.id) == [4])
    }

    @Test func aScopeOfEmptyOrMissingSlotsSeesNothingElse() {
        let view = CustomerView.project(Self.snapshot, scope: AccessScope(slots: [7, 16]))
        #expect(view.slots.isEmpty && view.alerts.isEmpty && view.chassisMetrics.isEmpty)
    }

    @Test func slotZeroIsStaffOnly() {
        let scope = AccessScope(slots: [2, 3])
        #expect(!CustomerView.permits(slot: 0, chassisID: Self.chassisID, scope: scope))
        #expect(!CustomerView.permits(slot: 0, chassisID: Self.chassisID, scope: AccessScope(slots: [0, 2])))
        #expect(CustomerView.permits(slot: 2, chassisID: Self.chassisID, scope: scope))
        #expect(!CustomerView.permits(slot: 1, chassisID: Self.chassisID, scope: scope))
        #expect(!CustomerView.permits(slot: 2, chassisID: "111111111111", scope: AccessScope(chassisID: Self.chassisID, slots: [2])))
        #expect(CustomerView.permits(slot: 0, chassisID: Self.chassisID, scope: nil))
    }

    @Test func cacheKeysDifferBetweenViews() {
        let keys = [nil, AccessScope(slots: [2, 3]), AccessScope(slots: [2]), AccessScope(chassisID: "x", slots: [2, 3])]
            .map(CustomerView.cacheKey)
        #expect(Set(keys).count == keys.count)
    }
}
