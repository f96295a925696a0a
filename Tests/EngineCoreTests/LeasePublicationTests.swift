@testable import Consensus
import EngineCore
import Testing

/// The publish path's own rules.
struct LeasePublicationTests {
    static func ready(lease tick: Int?, roleChange: Bool = false) -> Ready {
        var ready = Ready()
        ready.leaseDeadlineTick = tick
        if roleChange {
            ready.roleChanges = [RoleChange(oldRole: .follower, newRole: .leader, term: 2, leader: MemberID(1))]
        }
        return ready
    }

    @Test("a gain is published after applying, a shrink before sending, a growth only periodically")
    func plans() {
        var lease = LeasePublication(startNanoseconds: 1_000, tickNanoseconds: 10)
        #expect(lease.take(Self.ready(lease: 50)) == .init(beforeSending: false, afterApplying: true))
        #expect(lease.deadlineNanoseconds == 1_500)
        #expect(lease.take(Self.ready(lease: 60)) == .init(beforeSending: false, afterApplying: false))
        #expect(lease.take(Self.ready(lease: 55)) == .init(beforeSending: true, afterApplying: false))
        #expect(lease.take(Self.ready(lease: nil)) == .init(beforeSending: true, afterApplying: false))
        #expect(lease.deadlineNanoseconds == 0)
        #expect(lease.take(Self.ready(lease: nil, roleChange: true)) == .init(beforeSending: false, afterApplying: true))
        var old = LeasePublication(startNanoseconds: 1_000, tickNanoseconds: 10, order: .afterApplying)
        _ = old.take(Self.ready(lease: 50))
        #expect(old.take(Self.ready(lease: nil)) == .init(beforeSending: false, afterApplying: true), "the shrink after sending")
    }

    @Test("what the web app trusts is what was published, until its deadline")
    func publications() {
        var lease = LeasePublication(startNanoseconds: 0, tickNanoseconds: 10)
        _ = lease.take(Self.ready(lease: 100))
        #expect(lease.holds(coreActive: true, now: 999) && !lease.holds(coreActive: true, now: 1_000))
        #expect(!lease.holds(coreActive: false, now: 10))
        #expect(!lease.webAppAnswersAsActive(now: 10), "nothing published yet")
        #expect(lease.published(active: true, now: 10) == 1_000)
        #expect(lease.webAppAnswersAsActive(now: 999) && !lease.webAppAnswersAsActive(now: 1_000))
        #expect(lease.published(active: false, now: 20) == 0)
        #expect(!lease.webAppAnswersAsActive(now: 21))
        #expect(!lease.periodicDue(now: 20 + LeasePublication.publishIntervalNanoseconds - 1))
        #expect(lease.periodicDue(now: 20 + LeasePublication.publishIntervalNanoseconds))
    }
}
