import Control
import Foundation
import Model
import Testing
@testable import Web

/// The chassis' name and location and the sampling intervals, from the API and the Settings page.
@Suite struct SettingsTests {
    static func app(_ control: RecordingControl = RecordingControl()) throws -> WebApp {
        try Fixture.app(control: control, defaultIntervalsMs: [.cpu: 1_000, .sensors: 3_000])
    }

    @Test func theReplicationPolicyIsShownAndChanged() throws {
        let source = MemoryStateSource()
        source.settings["replicate.network"] = #"["blade1"]"#
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let document = app.get("/api/v1/replication", source, as: .session(.viewer))
        #expect(document.status == 200)
        #expect(document.bodyText.contains(#""group":"network""#) && document.bodyText.contains(#""replicatedTo":["blade1"]"#))
        #expect(document.bodyText.contains(#""group":"sensors""#) && document.bodyText.contains(#""replicatedTo":"all""#))
        let changed = app.send("PATCH", "/api/v1/replication", source, body: #"{"network": "all", "disk": ["blade2"]}"#)
        #expect(changed.status == 200)
        #expect(control.requests == [.setReplication(group: .disk, members: ["blade2"]), .setReplication(group: .network, members: nil)])
        for (body, problem) in [(#"{"gpu": "all"}"#, "unknown group"), (#"{"disk": "some"}"#, "a list of members, or"),
                                (#"{"disk": ["bad name"]}"#, "member name must be")] {
            let refused = app.send("PATCH", "/api/v1/replication", source, body: body)
            #expect(refused.status == 400 && refused.bodyText.contains(problem), "\(body) \(refused.bodyText)")
        }
        let page = app.get("/settings", source, as: .session(.operator))
        #expect(page.bodyText.contains("Replication policy") && page.bodyText.contains("data-group=\"network\""))
    }

    @Test func maintenanceWindowsAreListedWithAFormForOperators() throws {
        let source = MemoryStateSource()
        source.current.maintenance = [MaintenanceWindow(id: 7, slotID: 2, startsAt: Fixture.now - 60, endsAt: Fixture.now + 3_600,
                                                        reason: "fan <swap>", createdBy: "alice")]
        let page = try Fixture.app().get("/settings", source, as: .session(.operator))
        #expect(page.status == 200)
        #expect(page.bodyText.contains("data-maintenance-id=\"7\"") && page.bodyText.contains("fan &lt;swap&gt;"))
        #expect(page.bodyText.contains("name=\"reason\""))
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let posted = app.send("POST", "/settings", source, body: "action=maintenance&slot=2&hours=1.5&reason=new+fans",
                              headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(posted.status == 200 && posted.bodyText.contains("Maintenance scheduled."))
        #expect(control.requests == [.addMaintenance(slotID: 2, startsAt: Fixture.now, endsAt: Fixture.now + 5_400,
                                                     reason: "new fans", by: "admin")])
        let viewer = try Fixture.app().get("/settings", source, as: .session(.viewer))
        #expect(viewer.bodyText.contains("fan &lt;swap&gt;") && !viewer.bodyText.contains("name=\"reason\""))
    }

    @Test func intervalsSayWhereEachComesFrom() throws {
        let response = try Self.app().get("/api/v1/intervals", MemoryStateSource(), as: .session(.viewer))
        #expect(response.status == 200)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let rows = try #require(object["intervals"] as? [[String: Any]])
        func row(_ group: String) -> [String: Any]? { rows.first { $0["group"] as? String == group } }
        #expect(rows.count == SamplingGroup.allCases.count)
        #expect(row("cpu")?["intervalMs"] as? Int == 500 && row("cpu")?["source"] as? String == "chassis")
        #expect(row("sensors")?["intervalMs"] as? Int == 3_000 && row("sensors")?["source"] as? String == "configuration file")
        #expect(row("disk")?["intervalMs"] as? Int == SamplingGroup.disk.defaultIntervalMs)
    }

    @Test func theIntervalsFormSendsOnlyWhatChanged() throws {
        let control = RecordingControl()
        let source = MemoryStateSource()
        let app = try Self.app(control)
        // Every group's field as the page shows it (cpu set on the chassis to 500, the rest the file's), disk changed.
        let fields = SamplingGroup.allCases.map { group -> String in
            let value = group == .cpu ? 500 : group == .sensors ? 3_000 : group == .disk ? 7_000 : group.defaultIntervalMs
            return "\(group.rawValue)=\(value)"
        }.joined(separator: "&")
        let response = app.send("POST", "/settings", source, body: "action=intervals&" + fields,
                                headers: ["Content-Type": "application/x-www-form-urlencoded"], as: .session(.operator))
        #expect(response.status == 200 && response.bodyText.contains("Intervals saved: disk."), "\(response.bodyText.prefix(400))")
        #expect(control.requests == [.setInterval(group: .disk, intervalMs: 7_000)], "an unchanged field pins nothing")
    }

    @Test func anOperatorChangesIntervals() throws {
        let control = RecordingControl()
        let response = try Self.app(control).send("PATCH", "/api/v1/intervals", MemoryStateSource(),
                                                  body: "{\"sensors\": 1000, \"network\": 2500}", as: .session(.operator))
        #expect(response.status == 200, "\(response.bodyText)")
        #expect(control.requests == [.setInterval(group: .network, intervalMs: 2_500), .setInterval(group: .sensors, intervalMs: 1_000)])
    }

    @Test(arguments: [
        ("{\"sensors\": 50}", "between 100"),
        ("{\"sensors\": 99999999}", "between 100"),
        ("{\"warp\": 1000}", "unknown group"),
        ("{\"sensors\": \"fast\"}", "wrong type"),
        ("{}", "at least one group"),
    ])
    func badIntervalsAreRefused(body: String, fragment: String) throws {
        let control = RecordingControl()
        let response = try Self.app(control).send("PATCH", "/api/v1/intervals", MemoryStateSource(), body: body, as: .session(.operator))
        #expect(response.status == 400, "\(body)")
        #expect(response.bodyText.contains(fragment), "\(body): \(response.bodyText)")
        #expect(control.requests.isEmpty)
    }

    @Test func anOperatorRenamesTheChassis() throws {
        let control = RecordingControl()
        let response = try Self.app(control).send("PATCH", "/api/v1/chassis", MemoryStateSource(),
                                                  body: "{\"name\": \"Rack 12 <east>\", \"rack\": \"12\"}", as: .session(.operator))
        #expect(response.status == 200)
        #expect(control.requests == [.setChassisInfo(name: "Rack 12 <east>", site: nil, row: nil, rack: "12", shelf: nil)])
    }

    /// The store holds 64 characters of a row: a longer one is refused here, before the log.
    @Test func aRowTooLongForTheStoreIsRefused() throws {
        let control = RecordingControl()
        let row = String(repeating: "r", count: 65)
        let response = try Self.app(control).send("PATCH", "/api/v1/chassis", MemoryStateSource(),
                                                  body: "{\"row\": \"\(row)\"}", as: .session(.operator))
        #expect(response.status == 400)
        #expect(response.bodyText.contains("row is longer than 64 bytes"))
        #expect(control.requests.isEmpty)
    }

    @Test func aViewerSeesTheSettingsAndCannotChangeThem() throws {
        let page = try Self.app().get("/settings", MemoryStateSource(), as: .session(.viewer))
        #expect(page.status == 200)
        #expect(page.bodyText.contains("disabled"))
        #expect(!page.bodyText.contains(">Save</button>"))
        #expect(try Self.app().send("PATCH", "/api/v1/chassis", MemoryStateSource(), body: "{\"name\": \"x\"}",
                                    as: .session(.viewer)).status == 403)
    }

    @Test func theSettingsFormsSendOnlyWhatChanged() throws {
        let control = RecordingControl()
        let app = try Self.app(control)
        func post(_ body: String) -> Response {
            app.handle(app.request("POST", "/settings", as: .session(.operator), body: body,
                                   headers: ["Content-Type": "application/x-www-form-urlencoded", "Origin": Fixture.origin]),
                       source: MemoryStateSource())
        }
        // cpu is 500 already (set by the chassis); sensors is 3000 from the file: 3000 again makes it the chassis'.
        #expect(post("action=intervals&cpu=500&sensors=2000&disk=").status == 200)
        #expect(control.requests == [.setInterval(group: .sensors, intervalMs: 2_000)])
        let bad = post("action=intervals&cpu=soon")
        #expect(bad.status == 400 && bad.bodyText.contains("cpu must be a whole number"))
        #expect(post("action=chassis&name=East&site=Lab&row=A&rack=12&shelf=3").status == 200)
        #expect(control.requests.last == .setChassisInfo(name: "East", site: "Lab", row: "A", rack: "12", shelf: "3"))
    }
}
