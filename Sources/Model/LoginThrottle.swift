/// Login throttling, per user and per client address: after a few failures each further attempt
/// must wait a growing delay (1 s, 2 s, 4 s … up to a minute), and after more failures the user or
/// address is locked for a while (an admin may lift it). A success clears both counters.
///
/// The counters are replicated state (the engine applies `recordLogin` commands with
/// `afterFailure`), so a lock holds on every blade and survives a failover; the web app only
/// reads them (`verdict`). The numbers are constants of the code, the same on every blade.
public enum LoginThrottle {
    public static let failuresBeforeDelay = 3
    public static let delaySecondsMax = 60.0
    public static let failuresBeforeLock = 10
    public static let lockSeconds = 900.0
    /// Failures older than this are forgotten (the counter starts again).
    public static let forgetAfterSeconds = 3_600.0
    /// Counters kept at most; the oldest are dropped first (a scan of many names or addresses
    /// cannot grow the replicated state without bound).
    public static let recordsMax = 5_000

    public enum Verdict: Equatable, Sendable {
        case allowed
        /// Try again after this many seconds.
        case wait(seconds: Double)
        case locked(until: Double)
    }

    /// Whether a login may be tried now, given the counter of one key.
    public static func verdict(_ record: LoginFailures?, now: Double) -> Verdict {
        guard let record, now - record.lastFailureAt < forgetAfterSeconds else { return .allowed }
        if let until = record.lockedUntil, until > now { return .locked(until: until) }
        if record.lockedUntil != nil { return .allowed }
        guard record.failures >= failuresBeforeDelay else { return .allowed }
        let delay = min(delaySecondsMax, Double(1 << min(20, record.failures - failuresBeforeDelay)))
        let ready = record.lastFailureAt + delay
        return ready > now ? .wait(seconds: ready - now) : .allowed
    }

    /// The stricter of two verdicts (the user's and the address's).
    public static func stricter(_ a: Verdict, _ b: Verdict) -> Verdict {
        switch (a, b) {
        case (.locked(let x), .locked(let y)): return .locked(until: max(x, y))
        case (.locked, _): return a
        case (_, .locked): return b
        case (.wait(let x), .wait(let y)): return .wait(seconds: max(x, y))
        case (.wait, _): return a
        case (_, .wait): return b
        default: return .allowed
        }
    }

    /// The counter after one more failure at `now`.
    public static func afterFailure(_ record: LoginFailures?, key: String, now: Double) -> LoginFailures {
        var next = record ?? LoginFailures(key: key, failures: 0, lastFailureAt: now, lockedUntil: nil)
        if now - next.lastFailureAt >= forgetAfterSeconds || (next.lockedUntil.map { $0 <= now } ?? false) {
            next.failures = 0
            next.lockedUntil = nil
        }
        next.failures += 1
        next.lastFailureAt = now
        if next.failures >= failuresBeforeLock { next.lockedUntil = now + lockSeconds }
        return next
    }
}
