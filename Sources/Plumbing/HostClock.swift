#if canImport(Glibc)
import Glibc
#endif

/// The two clocks every program of the blade reads, in one place, so that a component takes a
/// `HostClock` instead of reading the time itself (and a test or the simulator can give it another):
/// - `monotonicNanoseconds`: `CLOCK_MONOTONIC`, shared by every process of the blade; leases,
///   deadlines and rates are measured on it.
/// - `wallSeconds`: Unix time, for what people read (records, events, reports).
public struct HostClock: Sendable {
    public var monotonicNanoseconds: @Sendable () -> UInt64
    public var wallSeconds: @Sendable () -> Double

    public init(monotonicNanoseconds: @escaping @Sendable () -> UInt64, wallSeconds: @escaping @Sendable () -> Double) {
        self.monotonicNanoseconds = monotonicNanoseconds
        self.wallSeconds = wallSeconds
    }

    /// The host's clocks.
    public static let system = HostClock(
        monotonicNanoseconds: {
            var time = timespec()
            clock_gettime(CLOCK_MONOTONIC, &time)
            return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
        },
        wallSeconds: {
            var time = timespec()
            clock_gettime(CLOCK_REALTIME, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
        })

    /// The monotonic clock in seconds (what rate collectors divide by).
    public func monotonicSeconds() -> Double { Double(monotonicNanoseconds()) / 1_000_000_000 }

    /// A clock that reads what `time` holds: monotonic nanoseconds and wall seconds moved together.
    public static func manual(_ time: ManualTime) -> HostClock {
        HostClock(monotonicNanoseconds: { time.nanoseconds }, wallSeconds: { time.wallSeconds })
    }
}

/// Time moved by hand, for tests: starts at `wallStart` and a monotonic 1 s.
public final class ManualTime: @unchecked Sendable {
    private let lock = Locked(0 as UInt64)
    private let wallStart: Double

    public init(wallStart: Double = 1_764_000_000) { self.wallStart = wallStart }

    public var nanoseconds: UInt64 { 1_000_000_000 + lock.withLock { $0 } }
    public var wallSeconds: Double { wallStart + Double(lock.withLock { $0 }) / 1_000_000_000 }

    public func advance(seconds: Double) {
        lock.withLock { $0 += UInt64(max(0, seconds) * 1_000_000_000) }
    }
}
