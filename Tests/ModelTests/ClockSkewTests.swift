import Testing
@testable import Model

@Suite struct ClockSkewTests {
    @Test func theOffsetNearestZeroIsTheSkewWhateverTheDelays() {
        var behind = ClockSkewEstimator()
        var ahead = ClockSkewEstimator()
        var inStep = ClockSkewEstimator()
        let delays = [0.05, 0.21, 0.9, 0.02, 0.3, 1.8, 0.11]
        for (index, delay) in delays.enumerated() {
            let sampled = 1_000 + Double(index)
            behind.note(sampled: sampled - 5, received: sampled + delay)
            ahead.note(sampled: sampled + 5, received: sampled + delay)
            inStep.note(sampled: sampled, received: sampled + delay)
        }
        #expect(abs((behind.estimate ?? 0) - 5.02) < 1e-9)
        #expect(abs((ahead.estimate ?? 0) + 4.98) < 1e-9)
        #expect(abs((inStep.estimate ?? 1) - 0.02) < 1e-9)
        #expect(behind.isFarOff(wasFarOff: false) && ahead.isFarOff(wasFarOff: false))
        #expect(!inStep.isFarOff(wasFarOff: false) && !inStep.isFarOff(wasFarOff: true))
    }

    @Test func noEstimateUntilEnoughBatchesAndHysteresisOnTheWayBack() {
        var estimator = ClockSkewEstimator()
        for index in 0..<(ClockSkewEstimator.samplesNeeded - 1) { estimator.note(sampled: Double(index) - 10, received: Double(index)) }
        #expect(estimator.estimate == nil && !estimator.isFarOff(wasFarOff: false) && estimator.isFarOff(wasFarOff: true))
        var drifting = ClockSkewEstimator()
        for index in 0..<ClockSkewEstimator.window { drifting.note(sampled: Double(index) - 1.5, received: Double(index)) }
        #expect(!drifting.isFarOff(wasFarOff: false), "1.5 s is not far off")
        #expect(drifting.isFarOff(wasFarOff: true), "but stays far off once raised, until below 1 s")
        drifting.note(sampled: .nan, received: 1)
        #expect(drifting.estimate == 1.5, "a NaN time is ignored")
    }
}
