import Model
import Testing

@Suite struct LoginThrottleTests {
    static let t0 = 1_764_000_000.0
    static let key = LoginFailures.userKey("alice")

    /// The counter after `count` failures one second apart, starting at t0.
    static func failures(_ count: Int) -> LoginFailures? {
        var record: LoginFailures?
        for index in 0..<count { record = LoginThrottle.afterFailure(record, key: key, now: t0 + Double(index)) }
        return record
    }

    @Test func keysNameUsersAndAddresses() {
        #expect(LoginFailures.userKey("alice") == "user:alice")
        #expect(LoginFailures.addressKey("10.0.0.1") == "address:10.0.0.1")
    }

    @Test func nothingCountedIsAllowed() {
        #expect(LoginThrottle.verdict(nil, now: Self.t0) == .allowed)
    }

    /// (failures, wait right after the last failure): 1, 2, 4 … up to a minute.
    @Test(arguments: [(1, 0.0), (2, 0.0), (3, 1.0), (4, 2.0), (5, 4.0), (6, 8.0), (7, 16.0), (8, 32.0), (9, 60.0)])
    func delaysGrow(count: Int, wait: Double) throws {
        let record = try #require(Self.failures(count))
        #expect(record.failures == count)
        #expect(record.lockedUntil == nil)
        let last = record.lastFailureAt
        if wait == 0 {
            #expect(LoginThrottle.verdict(record, now: last) == .allowed)
        } else {
            #expect(LoginThrottle.verdict(record, now: last) == .wait(seconds: wait))
            #expect(LoginThrottle.verdict(record, now: last + wait / 2) == .wait(seconds: wait / 2))
            #expect(LoginThrottle.verdict(record, now: last + wait) == .allowed)
        }
    }

    @Test func theTenthFailureLocks() throws {
        let record = try #require(Self.failures(10))
        #expect(record.failures == 10)
        let until = try #require(record.lockedUntil)
        #expect(until == record.lastFailureAt + LoginThrottle.lockSeconds)
        #expect(LoginThrottle.verdict(record, now: record.lastFailureAt + 61) == .locked(until: until))
        #expect(LoginThrottle.verdict(record, now: until - 0.001) == .locked(until: until))
        // The lock runs out by itself.
        #expect(LoginThrottle.verdict(record, now: until) == .allowed)
        #expect(LoginThrottle.verdict(record, now: until + 1) == .allowed)
    }

    @Test func aFailureAfterAnExpiredLockStartsAgain() throws {
        let locked = try #require(Self.failures(10))
        let after = LoginThrottle.afterFailure(locked, key: Self.key, now: locked.lockedUntil! + 5)
        #expect(after.failures == 1)
        #expect(after.lockedUntil == nil)
        #expect(LoginThrottle.verdict(after, now: after.lastFailureAt) == .allowed)
    }

    @Test func failuresAreForgottenAfterAnHour() throws {
        let record = try #require(Self.failures(8))
        let last = record.lastFailureAt
        #expect(LoginThrottle.verdict(record, now: last + 3_599) == .allowed, "the 32 s delay has passed")
        let later = LoginThrottle.afterFailure(record, key: Self.key, now: last + 3_599)
        #expect(later.failures == 9, "within the hour the counter goes on")
        let fresh = LoginThrottle.afterFailure(record, key: Self.key, now: last + 3_600)
        #expect(fresh.failures == 1, "an hour after the last failure it starts again")
        // A lock is forgotten too once its last failure is an hour old.
        var lock = try #require(Self.failures(10))
        lock.lockedUntil = lock.lastFailureAt + 7_200
        #expect(LoginThrottle.verdict(lock, now: lock.lastFailureAt + 3_600) == .allowed)
    }

    @Test func theStricterVerdictWins() {
        let allowed = LoginThrottle.Verdict.allowed
        #expect(LoginThrottle.stricter(allowed, allowed) == .allowed)
        #expect(LoginThrottle.stricter(.wait(seconds: 2), allowed) == .wait(seconds: 2))
        #expect(LoginThrottle.stricter(allowed, .wait(seconds: 3)) == .wait(seconds: 3))
        #expect(LoginThrottle.stricter(.wait(seconds: 2), .wait(seconds: 8)) == .wait(seconds: 8))
        #expect(LoginThrottle.stricter(.wait(seconds: 50), .locked(until: 10)) == .locked(until: 10))
        #expect(LoginThrottle.stricter(.locked(until: 10), .wait(seconds: 50)) == .locked(until: 10))
        #expect(LoginThrottle.stricter(.locked(until: 10), .locked(until: 20)) == .locked(until: 20))
        #expect(LoginThrottle.stricter(.locked(until: 30), allowed) == .locked(until: 30))
    }
}
