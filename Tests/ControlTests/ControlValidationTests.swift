import Foundation
import Control
import Model
import Testing

/// What the engine refuses before anything is proposed to the log: a request that passes here
/// is applied on every blade, so what would trap or mislead there must stop here.
@Suite struct ControlValidationTests {
    @Test func requestsCarryTimesAnOperatorMeans() {
        // Found by schemathesis: a window at 1.13e20 s passed, and showing it trapped the engine.
        let far = ControlRequest.addMaintenance(slotID: 1, startsAt: 1.13e20, endsAt: 1.13e20 + 3_600, reason: "x", by: "alice")
        #expect(ControlValidation.problem(in: far)?.contains("between the years 1970 and 2200") == true)
        #expect(ControlValidation.problem(in: .acknowledgeAlert(id: 1, by: "alice", comment: nil, until: 1e19)) != nil)
        #expect(ControlValidation.problem(in: .acknowledgeAlert(id: 1, by: "alice", comment: nil, until: -5)) != nil)
        #expect(ControlValidation.problem(in: .endSession(id: "0123456789abcdef0123456789abcdef", user: "alice", until: .infinity)) != nil)
        let fine = ControlRequest.addMaintenance(slotID: 1, startsAt: 1_800_000_000, endsAt: 1_800_003_600, reason: "x", by: "alice")
        #expect(ControlValidation.problem(in: fine) == nil)
    }

    @Test func powerRequestsNameASlotAndHandOverOnlyToStopABlade() {
        #expect(ControlValidation.problem(in: .power(slotID: 3, action: .cycle, handOver: false)) == nil)
        #expect(ControlValidation.problem(in: .power(slotID: 1, action: .off, handOver: true)) == nil)
        #expect(ControlValidation.problem(in: .power(slotID: 0, action: .on, handOver: false)) != nil)
        #expect(ControlValidation.problem(in: .power(slotID: 17, action: .on, handOver: false)) != nil)
        #expect(ControlValidation.problem(in: .power(slotID: 2, action: .identifyOn, handOver: true)) != nil)
        #expect(ControlValidation.problem(in: .power(slotID: 2, action: .on, handOver: true)) != nil)
    }

    @Test func everyRequestHasAnAuditActionAndPowerOnesNameTheAction() {
        #expect(ControlRequest.power(slotID: 2, action: .cycle, handOver: false).auditAction == "power.cycle")
        #expect(ControlRequest.power(slotID: 2, action: .identifyOff, handOver: false).auditAction == "power.identify-off")
    }

    @Test func requestsAndCommandsSurviveTheirCodingUnchanged() throws {
        let requests: [ControlRequest] = [.power(slotID: 4, action: .reset, handOver: true), .ping,
                                          .addMaintenance(slotID: nil, startsAt: 1_800_000_000, endsAt: 1_800_000_060, reason: "r", by: "b")]
        for request in requests {
            let data = try JSONEncoder().encode(request)
            #expect(try JSONDecoder().decode(ControlRequest.self, from: data) == request)
        }
        let commands: [ClusterCommand] = [.powerStarted(id: 7, by: "blade2", attempt: 2, at: 1_800_000_000),
                                          .powerFinished(id: 7, state: .interrupted, exitStatus: nil, output: "x", at: 1_800_000_001)]
        for command in commands {
            #expect(try JSONDecoder().decode(ClusterCommand.self, from: try JSONEncoder().encode(command)) == command)
        }
    }
}
