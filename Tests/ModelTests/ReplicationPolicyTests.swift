import Testing
@testable import Model

@Suite struct ReplicationPolicyTests {
    @Test func everyGroupGoesEverywhereUnlessTheSettingsSayOtherwise() {
        let everywhere = ReplicationPolicy.from(settings: ["interval_ms.cpu": "500"])
        #expect(everywhere.isEverywhere && everywhere.sends(.network, to: "blade3"))
        let policy = ReplicationPolicy.from(settings: ["replicate.network": #"["blade1","blade2"]"#, "replicate.disk": "[]"])
        #expect(!policy.isEverywhere)
        #expect(policy.sends(.network, to: "blade2") && !policy.sends(.network, to: "blade3"))
        #expect(!policy.sends(.disk, to: "blade1"), "an empty list: each blade keeps the group to itself")
        #expect(policy.sends(.sensors, to: "blade3"))
        #expect(ReplicationPolicy.encodeList(["blade2", "blade1"]) == #"["blade1","blade2"]"#)
        #expect(ReplicationPolicy.decodeList(ReplicationPolicy.encodeList(["a", "b"])) == ["a", "b"])
        #expect(ReplicationPolicy.decodeList("not a list") == [])
    }

    @Test func tableIClassesAndModes() {
        #expect(ReplicationPolicy.metricClass(.sensors) == .health)
        #expect(ReplicationPolicy.metricClass(.identification) == .identification)
        #expect(ReplicationPolicy.metricClass(.network) == .performance)
        #expect(ReplicationPolicy.isStatic(.identification) && !ReplicationPolicy.isStatic(.cpu))
    }
}
