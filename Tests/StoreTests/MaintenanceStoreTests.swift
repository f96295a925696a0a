import Foundation
import Model
import Store
import Testing

@Suite struct MaintenanceStoreTests {
    /// The snapshot shows windows that have not ended by the wall clock: the tests' windows are now.
    static let now = Date().timeIntervalSince1970.rounded()

    func window(slot: Int?, from: Double = now, hours: Double = 2, reason: String = "fan swap") -> MaintenanceWindow {
        MaintenanceWindow(id: 0, slotID: slot, startsAt: from, endsAt: from + hours * 3_600, reason: reason, createdBy: "alice")
    }

    @Test func aWindowIsScheduledShownAndEndsWithWhatIsStillOpen() throws {
        let store = try TemporaryStore()
        let id = try #require(try store.writer.addMaintenance(window(slot: 3), at: Self.now))
        #expect(try store.reader.snapshot().maintenance?.map(\.id) == [id])
        _ = try store.writer.raiseAlert(slotID: 3, metricKey: "fan", metricLabel: "Fan", severity: .critical, message: "fan stopped",
                                        value: 0, at: Self.now + 60)
        _ = try store.writer.raiseAlert(slotID: 1, metricKey: "fan", metricLabel: "Fan", severity: .warning, message: "elsewhere",
                                        value: 0, at: Self.now + 60)
        #expect(try store.writer.maintenanceDueToEnd(at: Self.now + 7_199).isEmpty)
        #expect(try !store.writer.endMaintenance(id: id, at: Self.now + 7_199), "not before its end")
        #expect(try store.writer.maintenanceDueToEnd(at: Self.now + 7_200) == [id])
        #expect(try store.writer.endMaintenance(id: id, at: Self.now + 7_200))
        #expect(try !store.writer.endMaintenance(id: id, at: Self.now + 7_201), "an end is recorded once")
        #expect(try store.writer.maintenanceDueToEnd(at: Self.now + 9_000).isEmpty)
        let events = try store.writer.events(after: 0, limit: 10)
        #expect(events.first?.kind == .maintenanceScheduled && events.first?.slotID == 3)
        let end = try #require(events.last)
        #expect(end.kind == .maintenanceEnded && end.severity == .critical && end.slotID == 3)
        #expect(end.message == "maintenance ended with 1 alert still open: fan swap", "slot 1's alert is not this window's")
    }

    @Test func aWholeChassisWindowCoversEverySlotAndTheChassis() {
        let whole = window(slot: nil)
        #expect(whole.covers(slotID: 5, at: Self.now) && whole.covers(slotID: nil, at: Self.now + 7_199))
        #expect(!whole.covers(slotID: 5, at: Self.now - 1) && !whole.covers(slotID: 5, at: Self.now + 7_200))
        let one = window(slot: 2)
        #expect(one.covers(slotID: 2, at: Self.now) && !one.covers(slotID: 3, at: Self.now) && !one.covers(slotID: nil, at: Self.now))
    }

    @Test func windowsAreBoundedCancelledAndTravelInSnapshots() throws {
        let store = try TemporaryStore()
        var ids: [Int64] = []
        for index in 0..<MaintenanceWindow.countMax {
            ids.append(try #require(try store.writer.addMaintenance(window(slot: 1, reason: "w\(index)"), at: Self.now)))
        }
        #expect(try store.writer.addMaintenance(window(slot: 1), at: Self.now) == nil, "at most countMax that have not ended")
        #expect(try store.writer.removeMaintenance(id: ids[0], at: Self.now))
        #expect(try !store.writer.removeMaintenance(id: ids[0], at: Self.now))
        #expect(try store.writer.addMaintenance(window(slot: 1), at: Self.now) != nil)
        #expect(try store.writer.events(after: 0, limit: 1_000).contains { $0.kind == .maintenanceRemoved && $0.message == "maintenance cancelled: w0" })
        let other = try TemporaryStore()
        try other.writer.importConfiguration(try store.writer.exportConfiguration())
        #expect(try other.writer.maintenanceWindows().map(\.window) == store.writer.maintenanceWindows().map(\.window))
    }
}

@Suite struct SlotAffinityStoreTests {
    static let module = ModuleInfo(serial: "SN-1", model: "CM-Blade 200", revision: "A", manufacturer: "CM", macAddresses: [],
                                   ipAddresses: [], installedAt: 1_000, removedAt: nil)

    @Test func slotPlusSerialApprovesTheModuleInTheSlotAndThenOnlyTheOneInIt() throws {
        let store = try TemporaryStore()
        try store.writer.ensureChassis(chassisID: "C", name: "c", site: "", row: "", rack: "", shelf: "", slotCount: 4)
        try store.writer.recordModule(slotID: 2, module: Self.module, at: 1_000)
        #expect(try store.writer.setSlotAffinity(slotID: 2, affinity: .slotSerial))
        #expect(try store.writer.slotAffinities()[2]?.affinity == .slotSerial)
        #expect(try store.writer.slotAffinities()[2]?.approved == "SN-1", "the module in the slot when it was set is approved")
        var replacement = Self.module
        replacement.serial = "SN-2"
        try store.writer.recordModule(slotID: 2, module: replacement, at: 2_000)
        var slot = try #require(try store.reader.snapshot().slots.first { $0.slotID == 2 })
        #expect(slot.awaitingApproval && slot.approvedSerial == "SN-1")
        #expect(try !store.writer.approveModule(slotID: 2, serial: "SN-1", at: 2_100), "only the module now in the slot")
        #expect(try store.writer.approveModule(slotID: 2, serial: "SN-2", at: 2_100))
        slot = try #require(try store.reader.snapshot().slots.first { $0.slotID == 2 })
        #expect(!slot.awaitingApproval && slot.approvedSerial == "SN-2")
        #expect(try store.writer.events(after: 0, limit: 10).last?.kind == .moduleApproved)
        let other = try TemporaryStore()
        try other.writer.importConfiguration(try store.writer.exportConfiguration())
        #expect(try other.writer.slotAffinities()[2]?.approved == "SN-2")
        #expect(try store.writer.setSlotAffinity(slotID: 2, affinity: .slot))
        #expect(try store.reader.snapshot().slots.first { $0.slotID == 2 }?.affinity == nil)
    }
}

@Suite struct BrokenMetricsDatabaseTests {
    @Test func aMetricsDatabaseThatIsNotSQLiteIsSetAsideAndStartedAnew() throws {
        let directory = NSTemporaryDirectory() + "store-broken-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
        let garbage = Data((0..<8_192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: directory + "/run/metrics.db"))
        let writer = try StoreWriter(configDatabase: directory + "/state/config.db", metricsDatabase: directory + "/run/metrics.db")
        #expect(writer.rebuiltMetrics != nil, "the broken file is noticed")
        #expect(FileManager.default.fileExists(atPath: directory + "/run/metrics.db.broken"), "and kept aside for a look")
        try writer.ensureChassis(chassisID: "C", name: "c", site: "", row: "", rack: "", shelf: "", slotCount: 2)
        try writer.registerBlade(slotID: 1, name: "blade1", address: "127.0.1.1")
        let again = try StoreWriter(configDatabase: directory + "/state/config.db", metricsDatabase: directory + "/run/metrics.db")
        #expect(again.rebuiltMetrics == nil, "a sound file is kept")
    }
}
