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
