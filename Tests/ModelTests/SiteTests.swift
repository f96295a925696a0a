import Model
import Testing

/// A chassis of the site as the rounds of questions leave it.
@Suite struct SiteChassisStateTests {
    static func summary(active: Bool = true) -> SiteSummary {
        SiteSummary(chassisID: "660007770089", name: "B", location: "", status: .ok, slots: 8, bladesUp: 3, bladesDown: 0,
                    alertsCritical: 0, alertsWarning: 0, alertsNew: 0, answeredBy: "blade1", answeredByActive: active,
                    activeManager: "blade1", activeURL: "https://127.0.2.1:8443", activeAddress: "127.0.2.1", term: 2,
                    updatedAt: 99, stale: false)
    }

    @Test func unreachableSinceTheFirstFailedRoundUntilItAnswersAgain() {
        var state = SiteChassisState(name: "b")
        #expect(!state.reachable && state.unreachableSince == nil && state.checkedAt == nil)
        state = state.after(.failure(SiteProblem("refused")), now: 10)
        #expect(!state.reachable && state.unreachableSince == 10 && state.problem == "refused" && state.checkedAt == 10)
        state = state.after(.failure(SiteProblem("timed out")), now: 12)
        #expect(state.unreachableSince == 10 && state.problem == "timed out" && state.checkedAt == 12)
        state = state.after(.success((Self.summary(), "127.0.2.1")), now: 14)
        #expect(state.reachable && state.unreachableSince == nil && state.problem == nil && state.lastAnswerAt == 14)
        #expect(state.address == "127.0.2.1" && state.summary == Self.summary())
        state = state.after(.failure(SiteProblem("refused")), now: 16)
        #expect(!state.reachable && state.unreachableSince == 16 && state.lastAnswerAt == 14)
        #expect(state.summary == Self.summary(), "the last answer is kept to show what it was")
    }
}
