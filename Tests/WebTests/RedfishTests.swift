import Model
import Testing
@testable import Web

/// The Redfish documents' rules that the live service (test_redfish.py) does not reach in a
/// healthy demo: a manager not heard from, a sensor's limits as thresholds.
@Suite struct RedfishTests {
    @Test(arguments: [(ManagerRole.active, "Enabled"), (.standby, "StandbySpare"), (.candidate, "StandbySpare"),
                      (.down, "UnavailableOffline")])
    func aManagersStateFollowsItsRole(role: ManagerRole, state: String) {
        let member = ClusterMember(name: "blade2", address: "127.0.1.2", url: "", slotID: 2, role: role, lastHeardAt: nil)
        let document = Redfish.manager(member, chassisID: "660007770088", product: "x")
        #expect((document["Status"] as? [String: String])?["State"] == state)
        #expect((document["Status"] as? [String: String])?["Health"] == (role == .down ? "Warning" : "OK"))
    }

    @Test func aSensorsLimitsAreItsThresholds() throws {
        let descriptor = MetricDescriptor(key: "hwmon.t1", label: "CPU", metricClass: .health, unit: "celsius", source: "libsensors",
                                          replication: .dynamic, group: .sensors, component: "coretemp",
                                          prometheusName: "node_hwmon_temp_celsius", limits: Limits(highWarning: 80, highCritical: 95))
        let metric = Fixture.metric(descriptor, 85, status: .warning)
        let document = try #require(Redfish.sensor("/redfish/v1/Chassis/Slot2", metric: metric))
        let thresholds = try #require(document["Thresholds"] as? [String: [String: Double]])
        #expect(thresholds == ["UpperCaution": ["Reading": 80], "UpperCritical": ["Reading": 95]])
        #expect(document["ReadingUnits"] as? String == "Cel" && (document["Status"] as? [String: String])?["Health"] == "Warning")
        #expect(document["PhysicalContext"] as? String == "CPU")
    }
}
