import Model
import Testing

/// What the active manager does about unfinished power actions is decided by the log alone: a
/// failover in the middle never runs a cycle or reset twice, and never loses an off.
@Suite struct PowerPlanTests {
    func record(_ id: Int64, slot: Int = 3, _ action: PowerAction, _ state: PowerActionState = .requested,
                startedBy: String? = nil, attempts: Int = 0, requestedAt: Double = 1_000, finishedAt: Double? = nil,
                by: String = "alice") -> PowerActionRecord {
        PowerActionRecord(id: id, slotID: slot, action: action, requestedBy: by, requestedAt: requestedAt, state: state,
                          startedBy: startedBy, startedAt: startedBy == nil ? nil : requestedAt + 1, attempts: attempts,
                          finishedAt: finishedAt)
    }

    func steps(_ pending: [PowerActionRecord], me: String = "blade1", ownSlot: Int = 1, running: Set<Int64> = [],
               now: Double = 1_010) -> [PowerPlan.Step] {
        PowerPlan.steps(pending: pending, me: me, ownSlot: ownSlot, running: running, now: now)
    }

    @Test func aRequestedActionIsStartedOnce() {
        #expect(steps([record(1, .cycle)]) == [.start(id: 1, attempt: 1)])
        #expect(steps([record(1, .cycle, .started, startedBy: "blade1", attempts: 1)], running: [1]).isEmpty,
                "this engine runs it: nothing to do")
    }

    @Test func aCycleOrResetStartedByADeadManagerIsReportedNeverRunAgain() {
        for action in [PowerAction.cycle, .reset] {
            let found = steps([record(7, action, .started, startedBy: "blade2", attempts: 1)])
            guard case .finish(7, .interrupted, let reason)? = found.first, found.count == 1 else {
                Issue.record("expected one interrupted finish, got \(found)")
                continue
            }
            #expect(reason.contains("blade2") && reason.contains("never run twice"))
        }
        // Its own start from before its engine restarted counts the same: it cannot know.
        #expect(steps([record(7, .reset, .started, startedBy: "blade1", attempts: 1)]).first.map {
            if case .finish(_, .interrupted, _) = $0 { return true } else { return false }
        } == true)
    }

    @Test func anIdempotentActionStartedByADeadManagerIsRunAgainABoundedNumberOfTimes() {
        for action in [PowerAction.on, .off, .shutdown, .identifyOn, .identifyOff] {
            #expect(steps([record(4, action, .started, startedBy: "blade2", attempts: 1)]) == [.start(id: 4, attempt: 2)])
            let exhausted = steps([record(4, action, .started, startedBy: "blade2", attempts: PowerPlan.attemptsMax)])
            guard case .finish(4, .failed, _)? = exhausted.first else {
                Issue.record("\(action): expected a failure after \(PowerPlan.attemptsMax) attempts, got \(exhausted)")
                continue
            }
        }
    }

    @Test func oneActionAtATimePerSlotInTheOrderAsked() {
        let pending = [record(5, slot: 3, .on), record(2, slot: 3, .off), record(3, slot: 4, .identifyOn)]
        #expect(steps(pending) == [.start(id: 2, attempt: 1), .start(id: 3, attempt: 1)])
        #expect(steps(pending, running: [2]) == [.start(id: 3, attempt: 1)], "slot 3 waits for its running off")
    }

    @Test func theActiveManagersOwnSlotWaitsForTheHandOverThenFails() {
        let own = record(9, slot: 1, .cycle, requestedAt: 1_000)
        #expect(steps([own], now: 1_010).isEmpty, "the next active manager runs it")
        guard case .finish(9, .failed, let reason)? = steps([own], now: 1_031).first else {
            Issue.record("expected a failure once no blade took over")
            return
        }
        #expect(reason.contains("not run"))
        #expect(steps([record(9, slot: 1, .identifyOn)]) == [.start(id: 9, attempt: 1)], "identify does not stop the blade")
    }

    @Test func theSlotsPowerIsTheNewestSuccessfulActions() {
        var power = SlotPower.derive(from: [
            record(1, .off, .succeeded, finishedAt: 1_001, by: "alice"),
            record(2, .on, .failed, finishedAt: 1_002),
            record(3, .identifyOn, .succeeded, finishedAt: 1_003),
        ])
        #expect(!power.powered && power.changedBy == "alice" && power.changedAt == 1_001, "a failed on changes nothing")
        #expect(power.identify && power.last?.id == 3 && power.pending.isEmpty)
        power = SlotPower.derive(from: [record(4, .cycle, .succeeded, finishedAt: 1_004, by: "bob"), record(1, .off, .succeeded, finishedAt: 1_001),
                                        record(5, .shutdown, .started, startedBy: "blade1", attempts: 1)])
        #expect(power.powered && power.changedBy == "bob", "records in any order: the newest decides")
        #expect(power.pending.map(\.id) == [5])
    }

    @Test func silenceIsExpectedOnlyWhileAnOperatorKeepsTheBladeDown() {
        let off = SlotPower.derive(from: [record(1, .off, .succeeded, finishedAt: 1_000)])
        #expect(off.expectsSilence(lastReportAt: 900, now: 5_000, bootSeconds: 180) != nil)
        let cycling = SlotPower.derive(from: [record(2, .cycle, .started, startedBy: "blade1", attempts: 1)])
        #expect(cycling.expectsSilence(lastReportAt: 900, now: 1_005, bootSeconds: 180) != nil)
        let booted = SlotPower.derive(from: [record(2, .cycle, .succeeded, finishedAt: 1_000)])
        #expect(booted.expectsSilence(lastReportAt: 900, now: 1_100, bootSeconds: 180) != nil, "booting")
        #expect(booted.expectsSilence(lastReportAt: 900, now: 1_181, bootSeconds: 180) == nil, "boot time is over")
        #expect(booted.expectsSilence(lastReportAt: 1_050, now: 1_100, bootSeconds: 180) == nil,
                "it reported after the cycle: a silence now is a failure")
        let identified = SlotPower.derive(from: [record(3, .identifyOn, .started, startedBy: "blade1", attempts: 1)])
        #expect(identified.expectsSilence(lastReportAt: 900, now: 1_005, bootSeconds: 180) == nil)
    }

    @Test func stoppingABladeMayNotTakeTheMajorityAway() {
        func member(_ slot: Int?, _ role: ManagerRole) -> ClusterMember {
            ClusterMember(name: slot.map { "blade\($0)" } ?? "witness", address: "127.0.1.\(slot ?? 250)", url: "", slotID: slot,
                          role: role, lastHeardAt: nil)
        }
        let three = [member(1, .active), member(2, .standby), member(3, .standby)]
        #expect(PowerGuard.majorityProblem(members: three, slotID: 3, action: .off) == nil)
        #expect(PowerGuard.majorityProblem(members: three, slotID: 3, action: .identifyOn) == nil)
        let oneDown = [member(1, .active), member(2, .down), member(3, .standby)]
        let problem = PowerGuard.majorityProblem(members: oneDown, slotID: 3, action: .cycle)
        #expect(problem?.contains("1 of 3 members up") == true && problem?.contains("needs 2") == true)
        #expect(PowerGuard.majorityProblem(members: oneDown, slotID: 2, action: .off) == nil, "slot 2 is down already")
        #expect(PowerGuard.majorityProblem(members: oneDown, slotID: 5, action: .off) == nil, "not a member")
        let two = [member(1, .active), member(2, .standby)]
        #expect(PowerGuard.majorityProblem(members: two, slotID: 2, action: .off) != nil)
        #expect(PowerGuard.majorityProblem(members: two, slotID: 2, action: .off, fenceConfirms: true) == nil,
                "a fence confirmation keeps a two-blade chassis deciding")
        #expect(PowerGuard.majorityProblem(members: two + [member(nil, .witness)], slotID: 2, action: .off, fenceConfirms: true) == nil)
    }

    @Test func actionsParseAsOperatorsTypeThem() {
        #expect(PowerAction(operatorText: "OFF") == .off)
        #expect(PowerAction(operatorText: "identify on") == .identifyOn)
        #expect(PowerAction(operatorText: "identify_off") == .identifyOff)
        #expect(PowerAction(operatorText: "explode") == nil)
        #expect(PowerAction.identifyOn.commandArgument == "on" && PowerAction.cycle.commandArgument == "cycle")
        #expect(PowerAction.allCases.filter(\.isIdempotent) == [.on, .shutdown, .off, .identifyOn, .identifyOff])
    }

    @Test func outputIsClippedToItsEndAtACharacterBoundary() {
        let long = String(repeating: "é", count: PowerActionRecord.outputBytesMax)
        let clipped = PowerActionRecord.clipped(long + "tail")
        #expect(clipped.hasSuffix("tail") && clipped.hasPrefix("…"))
        #expect(clipped.utf8.count <= PowerActionRecord.outputBytesMax + "…".utf8.count)
        #expect(PowerActionRecord.clipped("short") == "short")
    }
}
