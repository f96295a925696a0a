@testable import AgentX
import Testing

@Suite struct MIBTableTests {
    static let base = OID([1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1])
    static let table = MIBTable([
        VarBind(base + [7, 1000], .string("Slot 1")),
        VarBind(base + [7, 1], .string("Chassis")),
        VarBind(base + [11, 1], .string("660007770088")),
        VarBind(base + [11, 1001], .string("SN1")),
        VarBind(base + [7, 1001], .string("Module")),
    ])

    @Test func sortedAndGet() {
        #expect(Self.table.names == [Self.base + [7, 1], Self.base + [7, 1000], Self.base + [7, 1001], Self.base + [11, 1], Self.base + [11, 1001]])
        #expect(Self.table.answerGet(Self.base + [11, 1001]) == VarBind(Self.base + [11, 1001], .string("SN1")))
        #expect(Self.table.answerGet(Self.base + [11, 5]).value == .noSuchInstance)
        #expect(Self.table.answerGet(OID([1, 3, 6, 1, 9])).value == .noSuchObject)
    }

    @Test func next() {
        let table = Self.table
        #expect(table.answerNext(SearchRange(start: Self.base, include: false, end: .null)).name == Self.base + [7, 1])
        #expect(table.answerNext(SearchRange(start: Self.base + [7, 1], include: false, end: .null)).name == Self.base + [7, 1000])
        #expect(table.answerNext(SearchRange(start: Self.base + [7, 1], include: true, end: .null)).name == Self.base + [7, 1])
        // The end bounds the answer (exclusive).
        #expect(table.answerNext(SearchRange(start: Self.base + [7, 1001], include: false, end: Self.base + [11, 1])).value == .endOfMibView)
        let last = table.answerNext(SearchRange(start: Self.base + [11, 1001], include: false, end: .null))
        #expect(last == VarBind(Self.base + [11, 1001], .endOfMibView))
    }

    /// A walk by GetNext visits every instance once, in order.
    @Test func walk() {
        var seen: [OID] = []
        var start = OID([1, 3])
        while true {
            let found = Self.table.answerNext(SearchRange(start: start, include: false, end: .null))
            if found.value == .endOfMibView { break }
            seen.append(found.name)
            start = found.name
        }
        #expect(seen == Self.table.names)
    }

    @Test func bulk() {
        let ranges = [SearchRange(start: Self.base + [7, 1], include: false, end: .null),
                      SearchRange(start: Self.base + [7], include: false, end: Self.base + [8])]
        let answer = Self.table.answerBulk(nonRepeaters: 1, maxRepetitions: 5, ranges: ranges, varBindsMax: 100)
        #expect(answer.map(\.name) == [Self.base + [7, 1000],  // the non-repeater
                                       Self.base + [7, 1], Self.base + [7, 1000], Self.base + [7, 1001],
                                       Self.base + [7, 1001]])  // then endOfMibView, which stops the rounds
        #expect(answer.last?.value == .endOfMibView)
        #expect(Self.table.answerBulk(nonRepeaters: 0, maxRepetitions: 1000, ranges: [ranges[0]], varBindsMax: 3).count == 3)
        #expect(Self.table.answerBulk(nonRepeaters: 9, maxRepetitions: 9, ranges: ranges, varBindsMax: 100).count == 2)
    }

    @Test func responder() {
        let get = PDU(sessionID: 3, transactionID: 4, packetID: 5,
                      payload: .get([SearchRange(start: Self.base + [7, 1], include: false, end: .null)]))
        let answer = Responder.answer(get, sysUpTime: 77, table: Self.table)
        #expect(answer == PDU(sessionID: 3, transactionID: 4, packetID: 5,
                              payload: .response(sysUpTime: 77, error: .noError, index: 0, varBinds: [VarBind(Self.base + [7, 1], .string("Chassis"))])))
        // A context this subagent does not serve.
        guard case let .response(_, error, _, _)? = Responder.answer(get, sysUpTime: 0, table: nil)?.payload else {
            Issue.record("no response")
            return
        }
        #expect(error == .unsupportedContext)
        // Read-only: a TestSet is refused; CleanupSet gets no response.
        guard case let .response(_, setError, _, _)? = Responder.answer(PDU(sessionID: 3, packetID: 6, payload: .unhandled(.testSet)),
                                                                        sysUpTime: 0, table: Self.table)?.payload else {
            Issue.record("no response")
            return
        }
        #expect(setError == .notWritable)
        #expect(Responder.answer(PDU(sessionID: 3, packetID: 7, payload: .unhandled(.cleanupSet)), sysUpTime: 0, table: Self.table) == nil)
    }
}
