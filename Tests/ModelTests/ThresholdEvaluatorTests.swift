import Model
import Testing

@Suite struct ThresholdEvaluatorTests {
    let limits = Limits(lowCritical: 10, lowWarning: 20, highWarning: 80, highCritical: 90)

    @Test(arguments: [
        (50.0, nil), (80.0, Severity.warning), (85.0, .warning), (90.0, .critical), (120.0, .critical),
        (20.0, .warning), (15.0, .warning), (10.0, .critical), (-5.0, .critical), (21.0, nil),
    ] as [(Double, Severity?)])
    func levels(value: Double, expected: Severity?) {
        #expect(ThresholdEvaluator.level(of: value, limits: limits) == expected)
    }

    /// Runs a series of (time, value) samples and returns each step's transition.
    func run(_ samples: [(Double, Double?)], hysteresis: Double = 0, minimum: Double = 0) -> [AlertTransition?] {
        var state = ConditionState()
        return samples.map { time, value in
            ThresholdEvaluator.evaluate(value: value, limits: limits, hysteresis: hysteresis,
                                        minimumDurationSeconds: minimum, now: time, state: &state).transition
        }
    }

    @Test func raisesOnCrossingAndClearsOnReturn() {
        #expect(run([(0, 50), (1, 85), (2, 86), (3, 50)]) == [nil, .raise(.warning), nil, .clear])
    }

    @Test func hysteresisHoldsTheConditionUntilTheValueIsBackFarEnough() {
        #expect(run([(0, 85), (1, 78), (2, 76), (3, 74)], hysteresis: 5) == [.raise(.warning), nil, nil, .clear])
    }

    @Test func escalatesAndLowersThroughTheLevels() {
        #expect(run([(0, 85), (1, 95), (2, 88), (3, 84), (4, 50)], hysteresis: 3)
                == [.raise(.warning), .raise(.critical), nil, .raise(.warning), .clear])
    }

    @Test func minimumDurationIgnoresShortSpikes() {
        #expect(run([(0, 85), (1, 50), (2, 85), (5, 85), (8, 85)], minimum: 5)
                == [nil, nil, nil, nil, .raise(.warning)])
    }

    @Test func faultsNeitherRaiseNorClear() {
        var state = ConditionState(raised: .warning)
        let result = ThresholdEvaluator.evaluate(value: nil, limits: limits, hysteresis: 0, minimumDurationSeconds: 0,
                                                 now: 0, state: &state)
        #expect(result.status == .unknown)
        #expect(result.transition == nil)
        #expect(state.raised == .warning)
        #expect(ThresholdEvaluator.evaluate(value: .nan, limits: limits, hysteresis: 0, minimumDurationSeconds: 0,
                                            now: 1, state: &state).transition == nil)
    }

    @Test func theMostSpecificRuleWins() {
        let rules = [
            ThresholdRule(id: 1, scope: .global, metricKey: "hwmon.*", limits: Limits(highWarning: 70)),
            ThresholdRule(id: 2, scope: .global, metricKey: "hwmon.chip.temp1", limits: Limits(highWarning: 75)),
            ThresholdRule(id: 3, scope: .moduleType("blade"), metricKey: "hwmon.*", limits: Limits(highWarning: 60)),
            ThresholdRule(id: 4, scope: .slot(3), metricKey: "hwmon.chip.temp1", limits: Limits(highWarning: 50)),
            ThresholdRule(id: 5, scope: .chassis("other"), metricKey: "hwmon.chip.temp1", limits: Limits(highWarning: 1)),
        ]
        func winner(slot: Int, role: String, key: String) -> Int64 {
            ThresholdEvaluator.effectiveRule(key: key, slotID: slot, role: role, chassisID: "c1",
                                             hardware: Limits(highWarning: 99), rules: rules).id
        }
        #expect(winner(slot: 3, role: "blade", key: "hwmon.chip.temp1") == 4)
        #expect(winner(slot: 2, role: "blade", key: "hwmon.chip.temp1") == 3)
        #expect(winner(slot: 2, role: "switch", key: "hwmon.chip.temp1") == 2)
        #expect(winner(slot: 2, role: "switch", key: "hwmon.chip.temp2") == 1)
        let fallback = ThresholdEvaluator.effectiveRule(key: "cpu.total.utilisation", slotID: 1, role: "blade", chassisID: "c1",
                                                        hardware: Limits(highWarning: 99), rules: rules)
        #expect(fallback.limits.highWarning == 99)
    }

    @Test func statusesOrderFromBestToWorst() {
        #expect([Status.down, .ok, .critical, .unknown, .warning].sorted() == [.ok, .unknown, .warning, .critical, .down])
    }

    @Test func theSourceOfTheLimitsInForce() {
        let hardware = Limits(highWarning: 80, highCritical: 95)
        let rules = [ThresholdRule(id: 7, scope: .slot(2), metricKey: "temp", limits: Limits(highCritical: 90)),
                     ThresholdRule(id: 3, scope: .moduleType("blade"), metricKey: "temp", limits: Limits(highCritical: 92))]
        func source(slot: Int?, role: String?, descriptorSource: String = "libsensors", limits: Limits = hardware) -> String? {
            let rule = ThresholdEvaluator.effectiveRule(key: "temp", slotID: slot, role: role, chassisID: "C", hardware: limits, rules: rules)
            return ThresholdEvaluator.source(of: rule, descriptorSource: descriptorSource)
        }
        #expect(source(slot: 2, role: "blade") == "slot 2 rule 7")
        #expect(source(slot: 1, role: "blade") == "type blade rule 3")
        #expect(source(slot: 1, role: "switch") == "libsensors")
        #expect(source(slot: 1, role: nil, descriptorSource: "proc") == "built-in")
        #expect(source(slot: 1, role: nil, limits: .none) == nil, "no limits, no source")
    }
}
