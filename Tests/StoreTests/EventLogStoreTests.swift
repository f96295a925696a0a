import Foundation
import Model
import Store
import Testing

/// The event log on real SQLite files: alert changes write their events in the same transaction,
/// the logs are bounded the same way in the store and in snapshots, and the reader filters.
@Suite struct EventLogStoreTests {
    static let now = 1_764_000_000.0

    @Test func raisingEscalatingAcknowledgingAndClearingAnAlertAreEvents() throws {
        let store = try TemporaryStore()
        let warning = try store.writer.raiseAlert(slotID: 2, metricKey: "cpu.usage", metricLabel: "CPU", severity: .warning,
                                                  message: "CPU above 80", value: 85, at: Self.now)
        let critical = try store.writer.raiseAlert(slotID: 2, metricKey: "cpu.usage", metricLabel: "CPU", severity: .critical,
                                                   message: "CPU above 95", value: 97, at: Self.now + 1)
        #expect(try store.writer.acknowledgeAlert(id: critical, by: "alice", at: Self.now + 2))
        #expect(try store.writer.acknowledgeAlert(id: critical, by: "bob", at: Self.now + 3), "a second acknowledgement is no event")
        try store.writer.clearAlert(slotID: 2, metricKey: "cpu.usage", at: Self.now + 4)
        try store.writer.clearAlert(slotID: 2, metricKey: "cpu.usage", at: Self.now + 5)
        let events = try store.writer.events(after: 0, limit: 100)
        #expect(events.map(\.kind) == [.alertRaised, .alertCleared, .alertRaised, .alertAcknowledged, .alertCleared])
        #expect(events.map(\.alertID) == [warning, warning, critical, critical, critical])
        #expect(events.map(\.severity) == [.warning, .warning, .critical, .info, .critical])
        #expect(events[1].message == "replaced by a critical alert: CPU above 80")
        #expect(events[3].message == "acknowledged by alice: CPU above 95")
        #expect(events.allSatisfy { $0.slotID == 2 && $0.metricKey == "cpu.usage" })
        #expect(try store.writer.lastEventID() == events.last?.id)
        #expect(try store.writer.events(after: events[2].id, limit: 1).map(\.id) == [events[3].id])
    }

    @Test func anAcknowledgementForATimeLapsesAndTheAlertIsNewAgain() throws {
        let store = try TemporaryStore()
        let id = try store.writer.raiseAlert(slotID: 3, metricKey: "fan", metricLabel: "Fan", severity: .critical, message: "fan stopped",
                                             value: 0, at: Self.now)
        #expect(try store.writer.acknowledgeAlert(id: id, by: "alice", comment: "part ordered", until: Self.now + 3_600, at: Self.now))
        var alert = try #require(try store.writer.alert(id: id))
        #expect(alert.acknowledgedBy == "alice" && alert.acknowledgedComment == "part ordered" && alert.acknowledgedUntil == Self.now + 3_600)
        #expect(try store.writer.lapsedAcknowledgements(at: Self.now + 3_599).isEmpty)
        #expect(try !store.writer.lapseAcknowledgement(id: id, at: Self.now + 3_599), "not before its time")
        #expect(try store.writer.lapsedAcknowledgements(at: Self.now + 3_600) == [id])
        #expect(try store.writer.lapseAcknowledgement(id: id, at: Self.now + 3_600))
        alert = try #require(try store.writer.alert(id: id))
        #expect(alert.acknowledgedAt == nil && alert.acknowledgedComment == nil && alert.acknowledgedUntil == nil)
        let last = try #require(try store.writer.events(after: 0, limit: 10).last)
        #expect(last.kind == .alertAcknowledgementExpired && last.severity == .critical, "notified again at its severity")
        #expect(last.message == "the acknowledgement by alice expired: fan stopped")
        // Acknowledged again without an end, it stays; the image carries the comment.
        #expect(try store.writer.acknowledgeAlert(id: id, by: "bob", comment: "for good", at: Self.now + 4_000))
        #expect(try store.writer.lapsedAcknowledgements(at: Self.now + 1e9).isEmpty)
        let other = try TemporaryStore()
        try other.writer.importConfiguration(try store.writer.exportConfiguration())
        #expect(try other.writer.alert(id: id)?.acknowledgedComment == "for good")
    }

    @Test func theEventLogKeepsItsNewestRecordsHereAndInSnapshots() throws {
        let store = try TemporaryStore()
        for index in 0..<(ChassisEvent.recordsMax + 25) {
            try store.writer.appendEvent(kind: .moduleInserted, severity: .info, slotID: 1, message: "m\(index)", at: Self.now + Double(index))
        }
        let kept = try store.writer.events(after: 0, limit: 10_000)
        #expect(kept.count == ChassisEvent.recordsMax)
        #expect(kept.first?.message == "m25" && kept.last?.message == "m\(ChassisEvent.recordsMax + 24)")
        let image = try store.writer.exportConfiguration()
        #expect(image.events == kept)
        let other = try TemporaryStore()
        try other.writer.importConfiguration(image)
        #expect(try other.writer.events(after: 0, limit: 10_000) == kept, "ids and rows the same on the blade that installs it")
        // The next event continues after the same id on both.
        let next = try store.writer.appendEvent(kind: .memberAdded, severity: .info, slotID: nil, message: "x", at: Self.now)
        #expect(try other.writer.appendEvent(kind: .memberAdded, severity: .info, slotID: nil, message: "x", at: Self.now) == next)
    }

    @Test func bothLogsForgetWhatIsOlderThanTheirAge() throws {
        let store = try TemporaryStore()
        try store.writer.appendEvent(kind: .moduleInserted, severity: .info, slotID: 1, message: "old", at: Self.now)
        let old = try store.writer.raiseAlert(slotID: 1, metricKey: "a", metricLabel: "A", severity: .warning, message: "old",
                                              value: nil, at: Self.now)
        try store.writer.clearAlert(slotID: 1, metricKey: "a", at: Self.now + 1)
        let stillOpen = try store.writer.raiseAlert(slotID: 1, metricKey: "b", metricLabel: "B", severity: .warning, message: "open",
                                                    value: nil, at: Self.now)
        let later = Self.now + ChassisEvent.keptSeconds + 10
        _ = try store.writer.raiseAlert(slotID: 2, metricKey: "c", metricLabel: "C", severity: .warning, message: "new",
                                        value: nil, at: later)
        #expect(try store.writer.events(after: 0, limit: 100).allSatisfy { $0.at >= later - ChassisEvent.keptSeconds })
        #expect(try store.writer.alert(id: old) == nil, "a closed alert older than the bound is gone")
        #expect(try store.writer.alert(id: stillOpen) != nil, "an open alert stays whatever its age")
    }

    @Test func theAlertLogKeepsOpenAlertsAndItsNewestClosedOnes() throws {
        let store = try TemporaryStore()
        let old = try store.writer.raiseAlert(slotID: 1, metricKey: "fan", metricLabel: "Fan", severity: .critical, message: "old",
                                              value: nil, at: Self.now)
        for index in 0..<(Alert.recordsMax + 10) {
            _ = try store.writer.raiseAlert(slotID: 2, metricKey: "k\(index)", metricLabel: "K", severity: .warning,
                                            message: "m", value: nil, at: Self.now)
            try store.writer.clearAlert(slotID: 2, metricKey: "k\(index)", at: Self.now + 1)
        }
        let image = try store.writer.exportConfiguration()
        #expect(image.alerts.contains { $0.id == old && $0.clearedAt == nil }, "an open alert is never dropped")
        #expect(image.alerts.count == Alert.recordsMax + 1)
        let log = try store.reader.alertLog(filter: AlertFilter(), limit: 1_000)
        #expect(log.count == 1_000)
        let all = try store.reader.alertLog(filter: AlertFilter(state: .closed, slots: [2], includeChassis: false), limit: 1_000)
        #expect(all.count == 1_000)
        let other = try TemporaryStore()
        try other.writer.importConfiguration(image)
        #expect(try other.writer.exportConfiguration().alerts == image.alerts)
    }

    @Test func theReaderFiltersBySeverityKindPlaceTextAndPage() throws {
        let store = try TemporaryStore()
        try store.writer.appendEvent(kind: .moduleInserted, severity: .info, slotID: 1, message: "module A inserted", at: Self.now)
        try store.writer.appendEvent(kind: .moduleReplaced, severity: .warning, slotID: 2, message: "module B replaced", at: Self.now + 1)
        _ = try store.writer.raiseAlert(slotID: nil, metricKey: "chassis.fan1", metricLabel: "Fan 1", severity: .critical,
                                        message: "chassis fan stopped", value: 0, at: Self.now + 2)
        func ids(_ filter: EventFilter, limit: Int = 100) throws -> [String] {
            try store.reader.eventLog(filter: filter, limit: limit).map(\.message)
        }
        #expect(try ids(EventFilter()) == ["chassis fan stopped", "module B replaced", "module A inserted"])
        #expect(try ids(EventFilter(minimumSeverity: .warning)) == ["chassis fan stopped", "module B replaced"])
        #expect(try ids(EventFilter(kind: "module")) == ["module B replaced", "module A inserted"])
        #expect(try ids(EventFilter(kind: "module.inserted")) == ["module A inserted"])
        #expect(try ids(EventFilter(kind: "mod")) == [], "a family is a whole word before the dot")
        #expect(try ids(EventFilter(slots: [2], includeChassis: false)) == ["module B replaced"])
        #expect(try ids(EventFilter(slots: [], includeChassis: true)) == ["chassis fan stopped"])
        #expect(try ids(EventFilter(text: "FAN")) == ["chassis fan stopped"])
        #expect(try ids(EventFilter(since: Self.now + 1, until: Self.now + 1)) == ["module B replaced"])
        let first = try store.reader.eventLog(filter: EventFilter(), limit: 2)
        #expect(try ids(EventFilter(beforeID: first.last?.id)) == ["module A inserted"])
    }
}
