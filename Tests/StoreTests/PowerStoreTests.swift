import Foundation
import Model
import Store
import Testing

@Suite struct PowerStoreTests {
    static let now = Date().timeIntervalSince1970.rounded()

    @Test func anActionIsAskedStartedAndFinishedWithItsEventsAndTheSlotShowsOff() throws {
        let store = try TemporaryStore()
        // A fresh engine (a stale one makes every slot unknown).
        try store.writer.publish(engine: .init(blade: "blade1", address: "127.0.1.1", slotID: 1, role: .active, term: 1,
                                               activeAddress: "127.0.1.1", activeURL: nil, leaseDeadlineNanoseconds: 0,
                                               cluster: nil), at: Date().timeIntervalSince1970)
        let id = try #require(try store.writer.requestPower(slotID: 3, action: .off, by: "alice", at: Self.now))
        #expect(try store.reader.snapshot().slots.first { $0.slotID == 3 }?.power?.pending.map(\.id) == [id])
        #expect(try store.writer.startPower(id: id, by: "blade1", attempt: 1, at: Self.now + 1))
        let output = String(repeating: "x", count: 5_000) + "\ndone"
        let record = try #require(try store.writer.finishPower(id: id, state: .succeeded, exitStatus: 0, output: output, at: Self.now + 2))
        #expect(record.output.hasSuffix("done") && record.output.utf8.count <= PowerActionRecord.outputBytesMax + 3, "clipped to its end")
        #expect(try store.writer.finishPower(id: id, state: .failed, exitStatus: 1, output: "", at: Self.now + 3) == nil,
                "an end is recorded once")
        #expect(try !store.writer.startPower(id: id, by: "blade2", attempt: 2, at: Self.now + 4), "a finished action is not started again")
        let slot = try #require(try store.reader.snapshot().slots.first { $0.slotID == 3 })
        #expect(slot.status == .off && slot.downSince == nil)
        #expect(slot.power?.powered == false && slot.power?.changedBy == "alice" && slot.power?.last?.startedBy == "blade1")
        #expect(try store.reader.snapshot().chassis.status != .critical, "an operator's power-off is not a failure")
        let kinds = try store.writer.events(after: 0, limit: 10).map(\.kind)
        #expect(kinds == [.powerRequested, .powerSucceeded])
    }

    @Test func aFailedOrInterruptedActionIsAWarningEvent() throws {
        let store = try TemporaryStore()
        let first = try #require(try store.writer.requestPower(slotID: 2, action: .cycle, by: "bob", at: Self.now))
        _ = try store.writer.finishPower(id: first, state: .interrupted, exitStatus: nil, output: "started by blade1; not run twice",
                                         at: Self.now + 1)
        let second = try #require(try store.writer.requestPower(slotID: 2, action: .on, by: "bob", at: Self.now + 2))
        _ = try store.writer.finishPower(id: second, state: .failed, exitStatus: 2, output: "ipmitool: no route", at: Self.now + 3)
        let events = try store.writer.events(after: 0, limit: 10).filter { $0.kind != .powerRequested }
        #expect(events.map(\.kind) == [.powerInterrupted, .powerFailed])
        #expect(events.allSatisfy { $0.severity == .warning })
        #expect(events.last?.message.contains("ipmitool: no route") == true)
        #expect(try store.reader.snapshot().slots.first { $0.slotID == 2 }?.power?.powered == true, "nothing succeeded: still on")
    }

    @Test func unfinishedActionsAreBounded() throws {
        let store = try TemporaryStore()
        for index in 0..<PowerActionRecord.pendingMax {
            #expect(try store.writer.requestPower(slotID: 1 + index % 4, action: .identifyOn, by: "alice", at: Self.now) != nil)
        }
        #expect(try store.writer.requestPower(slotID: 1, action: .on, by: "alice", at: Self.now) == nil)
    }

    @Test func theActionsTravelInTheConfigurationImage() throws {
        let source = try TemporaryStore()
        let id = try #require(try source.writer.requestPower(slotID: 4, action: .shutdown, by: "carol", at: Self.now))
        #expect(try source.writer.startPower(id: id, by: "blade2", attempt: 1, at: Self.now + 1))
        _ = try source.writer.requestPower(slotID: 3, action: .identifyOn, by: "carol", at: Self.now + 2)
        let image = try source.writer.exportConfiguration()
        let target = try TemporaryStore()
        try target.writer.importConfiguration(image)
        #expect(try target.writer.powerActions() == source.writer.powerActions())
        #expect(try target.writer.powerActions().first?.state == .started, "a started action stays started: the next active manager decides")
    }
}
