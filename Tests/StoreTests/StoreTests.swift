import Foundation
import Model
import Store
import Testing
import Plumbing

/// A store in a fresh temporary directory, as the engine and the web app see it.
final class TemporaryStore {
    let directory: String
    let writer: StoreWriter
    let reader: StoreReader

    init(staleAfterSeconds: Double = 5) throws {
        directory = NSTemporaryDirectory() + "store-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        writer = try StoreWriter(configDatabase: directory + "/state/config.db", metricsDatabase: directory + "/run/metrics.db")
        try writer.ensureChassis(chassisID: "660007770088", name: "Chassis <A>", site: "Lab", row: "A", rack: "1",
                                 shelf: "2", slotCount: 4)
        try writer.registerBlade(slotID: 1, name: "blade1", address: "127.0.1.1")
        reader = StoreReader(configDatabase: directory + "/state/config.db", metricsDatabase: directory + "/run/metrics.db",
                             staleAfterSeconds: staleAfterSeconds)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    static func descriptor(_ key: String, limits: Limits = .none, unit: String = "celsius") -> MetricDescriptor {
        MetricDescriptor(key: key, label: "Label of \(key)", metricClass: .health, unit: unit, source: "test",
                         replication: .dynamic, group: .sensors, component: "chip", prometheusName: "node_hwmon_temp_celsius",
                         prometheusLabels: ["chip": "chip", "sensor": key], limits: limits)
    }

    func record(_ values: [String: Double], slot: Int = 1, status: Status = .ok, at time: Double) throws {
        try writer.record(slotID: slot, readings: values.map {
            StoreWriter.EvaluatedReading(reading: Reading(descriptor: Self.descriptor($0.key), value: $0.value), status: status)
        }, at: time)
    }
}

@Suite struct StoreTests {
    @Test func migrationsAreAppliedOnceAndReopeningKeepsData() throws {
        let store = try TemporaryStore()
        try store.record(["t1": 40], at: 1_000)
        let again = try StoreWriter(configDatabase: store.directory + "/state/config.db",
                                    metricsDatabase: store.directory + "/run/metrics.db")
        try again.ensureChassis(chassisID: "660007770088", name: "ignored", site: "", row: "", rack: "", shelf: "", slotCount: 4)
        let snapshot = try store.reader.snapshot()
        #expect(snapshot.chassis.name == "Chassis <A>", "the operator's name is seeded once, not overwritten")
        #expect(snapshot.slots[0].metrics.first?.value == 40)
    }

    @Test func aSnapshotHoldsTheHierarchyWithValuesAndStatuses() throws {
        let store = try TemporaryStore()
        let now = Date().timeIntervalSince1970
        try store.writer.publish(engine: .init(blade: "blade1", address: "127.0.1.1", slotID: 1, role: .active, term: 1,
                                               activeAddress: "127.0.1.1", activeURL: nil, leaseDeadlineNanoseconds: 0,
                                               cluster: nil), at: now)
        try store.writer.record(slotID: 1, readings: [
            .init(reading: Reading(descriptor: TemporaryStore.descriptor("t1", limits: Limits(highWarning: 80)), value: 85), status: .warning),
            .init(reading: Reading(descriptor: TemporaryStore.descriptor("t2"), fault: "unreadable"), status: .unknown),
        ], at: now)
        try store.writer.recordModule(slotID: 1, module: ModuleInfo(serial: "S1", model: "M", revision: "A", manufacturer: "X",
                                                                    macAddresses: ["02:00:00:00:00:01"], ipAddresses: ["127.0.1.1"],
                                                                    installedAt: now), at: now)
        let snapshot = try store.reader.snapshot()
        #expect(snapshot.chassis.chassisID == "660007770088")
        #expect(snapshot.chassis.slotCount == 4)
        #expect(snapshot.slots.map(\.slotID) == [1, 2, 3, 4])
        let slot = snapshot.slots[0]
        #expect(slot.status == .warning)
        #expect(slot.module?.serial == "S1")
        #expect(slot.metrics.count == 2)
        #expect(slot.metrics.first { $0.descriptor.key == "t1" }?.thresholds.highWarning == 80)
        #expect(slot.metrics.first { $0.descriptor.key == "t2" }?.fault == "unreadable")
        #expect(snapshot.slots[1].status == .unknown, "an empty slot says nothing")
        #expect(snapshot.chassis.status == .warning)
        #expect(!snapshot.engine.stale)
    }

    @Test func aReplacementModuleKeepsTheSlotIdentityAndHistory() throws {
        let store = try TemporaryStore()
        _ = try store.writer.updateSlot(slotID: 2, name: "web front end", moduleType: ModuleType(role: "blade", function: "web", expectedModel: "M"))
        func module(_ serial: String) -> ModuleInfo {
            ModuleInfo(serial: serial, model: "M", revision: "A", manufacturer: "X", macAddresses: [], ipAddresses: [], installedAt: 0)
        }
        #expect(try store.writer.recordModule(slotID: 2, module: module("OLD"), at: 100))
        #expect(try !store.writer.recordModule(slotID: 2, module: module("OLD"), at: 150), "the same module again is no change")
        #expect(try store.writer.recordModule(slotID: 2, module: module("NEW"), at: 200))
        let slot = try store.reader.snapshot().slots[1]
        #expect(slot.name == "web front end")
        #expect(slot.moduleType.function == "web")
        #expect(slot.module?.serial == "NEW")
        #expect(slot.history.map(\.serial) == ["NEW", "OLD"])
        #expect(slot.history[1].removedAt == 200)
    }

    @Test func thresholdsAreReplacedPerScopeAndKeyAndRemoved() throws {
        let store = try TemporaryStore()
        let id = try store.writer.setThreshold(ThresholdRule(scope: .slot(1), metricKey: "t1", limits: Limits(highWarning: 70)))
        let same = try store.writer.setThreshold(ThresholdRule(scope: .slot(1), metricKey: "t1", limits: Limits(highWarning: 60), hysteresis: 2))
        #expect(id == same)
        _ = try store.writer.setThreshold(ThresholdRule(scope: .moduleType("blade"), metricKey: "t*", limits: Limits(highCritical: 99)))
        let rules = try store.writer.loadThresholds()
        #expect(rules.count == 2)
        #expect(rules.first { $0.id == id }?.limits.highWarning == 60)
        #expect(rules.first { $0.id == id }?.hysteresis == 2)
        try store.record(["t1": 50], at: Date().timeIntervalSince1970)
        #expect(try store.reader.snapshot().slots[0].metrics[0].thresholds.highWarning == 60)
        #expect(try store.writer.removeThreshold(id: id))
        #expect(try !store.writer.removeThreshold(id: id))
        #expect(try store.reader.snapshot().slots[0].metrics[0].thresholds.highCritical == 99)
    }

    @Test func alertsAreRaisedClearedAndAcknowledged() throws {
        let store = try TemporaryStore()
        let first = try store.writer.raiseAlert(slotID: 1, metricKey: "t1", metricLabel: "CPU", severity: .warning,
                                                message: "hot", value: 85, at: 10)
        let second = try store.writer.raiseAlert(slotID: 1, metricKey: "t1", metricLabel: "CPU", severity: .critical,
                                                 message: "hotter", value: 95, at: 20)
        #expect(try store.writer.openAlerts()["1/t1"]?.id == second)
        #expect(try store.writer.acknowledgeAlert(id: first, by: "alice", at: 25))
        #expect(try !store.writer.acknowledgeAlert(id: 999, by: "alice", at: 25))
        try store.writer.clearAlert(slotID: 1, metricKey: "t1", at: 30)
        #expect(try store.writer.openAlerts().isEmpty)
        let all = try store.reader.alerts(openOnly: false)
        #expect(all.map(\.id) == [second, first])
        #expect(all[1].clearedAt == 20, "escalation clears the earlier condition")
        #expect(all[1].acknowledgedBy == "alice")
        // Cleared and acknowledged alerts leave the list of what needs attention.
        #expect(try store.reader.alerts(openOnly: true).map(\.id) == [second])
    }

    @Test func theDataVersionChangesWithEveryWriteAndAgreesAcrossReaders() throws {
        let store = try TemporaryStore()
        let other = StoreReader(configDatabase: store.reader.configDatabase, metricsDatabase: store.reader.metricsDatabase,
                                staleAfterSeconds: 5)
        let before = try store.reader.dataVersion()
        #expect(try store.reader.dataVersion() == before)
        #expect(try other.dataVersion() == before, "an ETag must not depend on which worker thread answers")
        try store.record(["t1": 1], at: 1)
        let afterMetrics = try store.reader.dataVersion()
        #expect(afterMetrics != before)
        _ = try store.writer.setThreshold(ThresholdRule(scope: .global, metricKey: "t1", limits: Limits(highWarning: 1)))
        let afterConfig = try store.reader.dataVersion()
        #expect(afterConfig != afterMetrics)
        #expect(try other.dataVersion() == afterConfig)
    }

    @Test func minuteAggregatesCountEverySampleOnceWhateverThePassesAndTheOrder() throws {
        let store = try TemporaryStore()
        let minute = (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 7_200
        // Minute 0 gets 1, 5 and 3 (the 3 arriving after minute 1 began, as a late replicated
        // batch does); minute 1 gets 10 and 20. Passes run between the writes.
        try store.record(["t1": 1], at: minute + 1)
        try store.record(["t1": 5], at: minute + 30)
        #expect(try store.writer.aggregateMinutes() == 2)
        try store.record(["t1": 10], at: minute + 61)
        try store.record(["t1": 3], at: minute + 59)
        #expect(try store.writer.aggregateMinutes() == 2)
        #expect(try store.writer.aggregateMinutes() == 0, "nothing new: nothing counted twice")
        try store.record(["t1": 20], at: minute + 90)
        #expect(try store.writer.aggregateMinutes() == 1)
        let points = try store.reader.history(slotID: 1, key: "t1", seconds: 7_300)
        #expect(points.count == 2)
        #expect(points.first.map { [$0.min, $0.mean, $0.max] } == [1, 3, 5])
        #expect(points.last.map { [$0.min, $0.mean, $0.max] } == [10, 15, 20])
        // Once the samples are pruned away, new ones (numbered from 1 again) are still counted.
        #expect(try store.writer.prune(now: minute + 90 + 3_601, rawSeconds: 3_600, aggregateSeconds: 86_400) == 5)
        try store.record(["t1": 7], at: minute + 3_700)
        #expect(try store.writer.aggregateMinutes() == 1)
        #expect(try store.reader.history(slotID: 1, key: "t1", seconds: 7_300).count == 3)
    }

    @Test func historyIsRawForAnHourAndAggregatedBeyondAndPruned() throws {
        let store = try TemporaryStore()
        let now = Date().timeIntervalSince1970
        for offset in stride(from: 7_200.0, through: 0, by: -30) {
            try store.record(["t1": offset], at: now - offset)
        }
        // The reader's clock is a little later than the writer's: the sample 600 s old falls out.
        let raw = try store.reader.history(slotID: 1, key: "t1", seconds: 600)
        #expect(raw.count == 20)
        #expect(raw.allSatisfy { $0.min == $0.max })
        #expect(try store.reader.history(slotID: 1, key: "t1", seconds: 7_300).isEmpty, "no pass has counted them yet")
        #expect(try store.writer.aggregateMinutes() == 241)
        let aggregated = try store.reader.history(slotID: 1, key: "t1", seconds: 7_300)
        #expect(aggregated.count >= 120 && aggregated.count <= 122)
        #expect(aggregated.contains { $0.min < $0.max }, "two samples a minute give a range")
        let deleted = try store.writer.prune(now: now, rawSeconds: 3_600, aggregateSeconds: 3_600)
        #expect(deleted > 0)
        #expect(try store.reader.history(slotID: 1, key: "t1", seconds: 3_600).count == 120)
        #expect(try store.reader.history(slotID: 1, key: "t1", seconds: 7_300).count <= 62)
        #expect(try store.reader.history(slotID: 1, key: "missing", seconds: 600).isEmpty)
        // Later, when every sample and aggregate is old: all go, and the current value stays.
        #expect(try store.writer.prune(now: now + 10_000, rawSeconds: 3_600, aggregateSeconds: 3_600) > 0)
        #expect(try store.reader.history(slotID: 1, key: "t1", seconds: 7 * 86_400).isEmpty)
        #expect(try store.writer.prune(now: now + 10_000, rawSeconds: 3_600, aggregateSeconds: 3_600) == 0)
        #expect(try store.reader.snapshot().slots.first { $0.slotID == 1 }?.metrics.first { $0.descriptor.key == "t1" }?.value == 0)
    }

    @Test func theLeaseIsCheckedAgainstTheReadersOwnClock() throws {
        let store = try TemporaryStore()
        func publish(role: ManagerRole, deadline: UInt64, at time: Double) throws {
            try store.writer.publish(engine: .init(blade: "blade1", address: "127.0.1.1", slotID: 1, role: role, term: 3,
                                                   activeAddress: "127.0.1.1", activeURL: "http://127.0.1.1:8080",
                                                   leaseDeadlineNanoseconds: deadline, cluster: nil), at: time)
        }
        let now = HostClock.system.monotonicNanoseconds()
        try publish(role: .active, deadline: now + 5_000_000_000, at: Date().timeIntervalSince1970)
        #expect(try store.reader.local().leaseValid)
        #expect(try store.reader.local().term == 3)
        try publish(role: .active, deadline: now - 1, at: Date().timeIntervalSince1970)
        #expect(try !store.reader.local().leaseValid, "an expired lease is not active, whatever the role says")
        try publish(role: .standby, deadline: now + 5_000_000_000, at: Date().timeIntervalSince1970)
        #expect(try !store.reader.local().leaseValid)
        try publish(role: .active, deadline: now + 5_000_000_000, at: Date().timeIntervalSince1970 - 60)
        #expect(try store.reader.local().engine.stale)
        #expect(try store.reader.snapshot().engine.stale)
    }

    @Test func theLeaseBoardIsReadOnEveryRequestAndTheRowOnlyWhenItChanges() throws {
        let store = try TemporaryStore()
        let now = HostClock.system.monotonicNanoseconds()
        try store.writer.publish(engine: .init(blade: "blade1", address: "127.0.1.1", slotID: 1, role: .active, term: 3,
                                               activeAddress: "127.0.1.1", activeURL: nil,
                                               leaseDeadlineNanoseconds: now + 5_000_000_000, cluster: nil),
                                 at: Date().timeIntervalSince1970)
        #expect(try store.reader.local().leaseValid)
        // The engine gives the lease up on the board before anything else (a hand-over): the
        // reader's cached row still says active, and the answer must change at once.
        store.writer.leaseBoard.storeLease(deadlineNanoseconds: 0)
        #expect(try !store.reader.local().leaseValid, "the board, not the cached row, decides the lease")
        store.writer.leaseBoard.storeLease(deadlineNanoseconds: now + 5_000_000_000)
        #expect(try store.reader.local().leaseValid)
        // A new row is read when the board's row version moves.
        try store.writer.publish(engine: .init(blade: "blade1", address: "127.0.1.1", slotID: 1, role: .standby, term: 4,
                                               activeAddress: "127.0.1.2", activeURL: nil, leaseDeadlineNanoseconds: 0,
                                               cluster: nil), at: Date().timeIntervalSince1970)
        let local = try store.reader.local()
        #expect(local.term == 4 && local.role == .standby && local.activeAddress == "127.0.1.2" && !local.leaseValid)
    }

    @Test func withoutABoardTheRowDecidesAndAReplacedBoardIsFound() throws {
        let store = try TemporaryStore()
        let boardPath = LeaseBoard.path(metricsDatabase: store.directory + "/run/metrics.db")
        let now = HostClock.system.monotonicNanoseconds()
        let active = StoreWriter.EngineState(blade: "blade1", address: "127.0.1.1", slotID: 1, role: .active, term: 3,
                                             activeAddress: "127.0.1.1", activeURL: nil,
                                             leaseDeadlineNanoseconds: now + 5_000_000_000, cluster: nil)
        try store.writer.publish(engine: active, at: Date().timeIntervalSince1970)
        // No board (an engine of an earlier version): the row's own deadline is checked.
        try FileManager.default.removeItem(atPath: boardPath)
        let reader = StoreReader(configDatabase: store.directory + "/state/config.db",
                                 metricsDatabase: store.directory + "/run/metrics.db", staleAfterSeconds: 5)
        #expect(try reader.local().leaseValid)
        // A restarted engine makes a new board, its lease not yet gained: found within the refresh interval.
        let restarted = try LeaseBoard.openForWriting(path: boardPath)
        #expect(restarted.leaseDeadlineNanoseconds == 0)
        Thread.sleep(forTimeInterval: Double(StoreReader.rowRefreshNanoseconds) / 1e9 + 0.05)
        #expect(try !reader.local().leaseValid, "the new board says no lease")
        restarted.storeLease(deadlineNanoseconds: now + 5_000_000_000)
        #expect(try reader.local().leaseValid)
        // Garbage in the board's place is no board.
        try FileManager.default.removeItem(atPath: boardPath)
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: boardPath))
        #expect(LeaseBoard.openForReading(path: boardPath) == nil)
    }

    @Test func replicatedValuesKeepTheTimeTheBladeTookThem() throws {
        let store = try TemporaryStore()
        try store.writer.registerBlade(slotID: 2, name: "blade2", address: "127.0.1.2")
        let now = Date().timeIntervalSince1970
        func replicate(_ value: Double, takenAt: Double) throws -> Double? {
            let batch = MetricsBatch(blade: "blade2", slotID: 2, sequence: 1, run: 1, sampledAt: takenAt, full: true, values: [
                ReplicatedValue(key: "t1", descriptor: TemporaryStore.descriptor("t1"), value: value, text: nil, fault: nil,
                                status: .ok),
            ])
            try store.writer.recordReplicated([batch], at: now)
            return try store.reader.snapshot().slots.first { $0.slotID == 2 }?.metrics.first { $0.descriptor.key == "t1" }?.sampledAt
        }
        #expect(try replicate(1, takenAt: now - 1.25) == now - 1.25, "the blade's own time")
        #expect(try replicate(2, takenAt: now + 600) == now, "a clock ahead: the receiver's time")
        #expect(try replicate(3, takenAt: now - 3_600) == now, "a clock far behind: the receiver's time")
        #expect(try replicate(4, takenAt: .nan) == now)
    }

    @Test func badBatchesChangeNothing() throws {
        let store = try TemporaryStore()
        let before = try store.reader.dataVersion()
        #expect(throws: StoreError.self) { try store.record(["t1": 1], slot: 17, at: 1) }
        #expect(try store.reader.dataVersion() == before)
        #expect(try !store.writer.updateSlot(slotID: 12, name: "beyond", moduleType: nil))
    }

    @Test func aReaderStartedBeforeTheEngineRecovers() throws {
        let directory = NSTemporaryDirectory() + "store-late-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reader = StoreReader(configDatabase: directory + "/config.db", metricsDatabase: directory + "/metrics.db",
                                 staleAfterSeconds: 5)
        #expect(throws: StoreError.self) { try reader.snapshot() }
        let writer = try StoreWriter(configDatabase: directory + "/config.db", metricsDatabase: directory + "/metrics.db")
        try writer.ensureChassis(chassisID: "c", name: "n", site: "", row: "", rack: "", shelf: "", slotCount: 2)
        #expect(try reader.snapshot().slots.count == 2)
    }
}
