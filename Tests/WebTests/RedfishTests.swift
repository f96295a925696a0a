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

    @Test(arguments: [(true, Status.ok, "On", "Enabled"), (true, .down, "On", "UnavailableOffline"), (false, .off, "Off", "StandbyOffline")])
    func aBladesPowerStateFollowsTheOperatorsActions(powered: Bool, status: Status, powerState: String, state: String) {
        var slot = Fixture.slot(2, name: "web-1", status: status, metrics: [], module: nil)
        slot.power = SlotPower(powered: powered, changedBy: powered ? nil : "alice", changedAt: powered ? nil : Fixture.now)
        let document = Redfish.blade(slot, chassisID: Fixture.chassisID, customer: false, manager: nil)
        #expect(document["PowerState"] as? String == powerState)
        #expect((document["Status"] as? [String: String])?["State"] == state)
    }

    /// A Redfish session is its caller's own: another session's id is not found, and nothing is ended.
    @Test func aCallerSeesAndEndsOnlyItsOwnSession() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let own = "/redfish/v1/SessionService/Sessions/" + Fixture.session(.viewer).id
        let other = "/redfish/v1/SessionService/Sessions/ffeeddccbbaa99887766554433221100"
        #expect(app.get(own, MemoryStateSource(), as: .session(.viewer)).status == 200)
        #expect(app.get(other, MemoryStateSource(), as: .session(.viewer)).status == 404)
        #expect(app.send("DELETE", other, MemoryStateSource(), as: .session(.viewer)).status == 404)
        // A token has no session to see.
        #expect(app.get(own, MemoryStateSource(), as: .token(.admin)).status == 404)
        #expect(control.requests.isEmpty, "no session was ended")
        #expect(app.send("DELETE", own, MemoryStateSource(), as: .session(.viewer)).status == 204)
        #expect(control.requests.count == 1)
    }

    /// The Origin check's exemption is for Redfish clients (JSON, or X-Auth-Token), never for a
    /// browser's form posted from another site.
    @Test func aFormPostedToTheRedfishLoginFromElsewhereIsRefused() throws {
        let app = try Fixture.app()
        let body = #"{"UserName": "viewer", "Password": "wrong password"}"#
        let form = app.send("POST", "/redfish/v1/SessionService/Sessions", MemoryStateSource(), body: "UserName=viewer&Password=x",
                            headers: ["Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"],
                            as: .anonymous)
        #expect(form.status == 403 && form.bodyText.contains("writes are accepted only from this chassis' own pages"))
        let json = app.send("POST", "/redfish/v1/SessionService/Sessions", MemoryStateSource(), body: body,
                            headers: ["Content-Type": "application/json", "Origin": "https://evil.example"], as: .anonymous)
        #expect(json.status != 403, "a Redfish client's JSON login is not a browser's write: \(json.status)")
    }
}
