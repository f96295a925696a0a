/// Estimates how far a blade's wall clock is from this one's, from the times its batches were
/// sampled (its clock) and received (this clock): each offset is the skew plus a delay that is
/// never negative (the batch's wait and the network), so the smallest offset among the last few is
/// the best estimate (the one with the least delay in it).
public struct ClockSkewEstimator: Sendable, Equatable {
    /// Offsets kept, and needed before there is an estimate.
    public static let window = 10
    public static let samplesNeeded = 5
    /// Far off: a warning above this, cleared again below `clearSeconds`.
    public static let raiseSeconds = 2.0
    public static let clearSeconds = 1.0

    private var offsets: [Double] = []

    public init() {}

    /// Records one batch: `received` on this clock, `sampled` on the blade's.
    public mutating func note(sampled: Double, received: Double) {
        guard sampled.isFinite, received.isFinite else { return }
        offsets.append(received - sampled)
        if offsets.count > Self.window { offsets.removeFirst(offsets.count - Self.window) }
    }

    /// Seconds the blade's clock is behind this one (negative: ahead); nil until enough batches came.
    public var estimate: Double? {
        guard offsets.count >= Self.samplesNeeded else { return nil }
        return offsets.min()
    }

    /// Whether the blade is far off: above `raiseSeconds`, or above `clearSeconds` while it already was.
    public func isFarOff(wasFarOff: Bool) -> Bool {
        guard let estimate else { return wasFarOff }
        return abs(estimate) > (wasFarOff ? Self.clearSeconds : Self.raiseSeconds)
    }
}
