/// A small, seedable generator (SplitMix64, Steele, Lea and Flood 2014) so that the consensus
/// cores, the simulator and the simulated hardware get reproducible randomness: nothing that must
/// replay from a seed touches global randomness. Any `RandomNumberGenerator` may be injected instead.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Seeds the generator.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    /// A uniform value in [0, 1): the top 53 bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}
