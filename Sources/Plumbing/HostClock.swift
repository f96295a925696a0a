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
}
