import Foundation
import Testing
import Control
import Model
@testable import Web

@Suite struct APITests {
    func object(_ response: Response) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    @Test func chassisDocumentShape() throws {
        let response = try Fixture.app().get("/api/v1/chassis", MemoryStateSource())
        #expect(response.header("Content-Type") == MediaType.json)
        let json = try object(response)
        #expect(json["stale"] as? Bool == false)
        #expect(json.keys.contains("staleSince"))
        #expect(json["staleSince"] is NSNull)
        #expect(json["newAlerts"] as? Int == 2)
        let chassis = try #require(json["chassis"] as? [String: Any])
        #expect(chassis["chassisID"] as? String == Fixture.chassisID)
        #expect(chassis["status"] as? String == "critical")
        let slots = try #require(json["slots"] as? [[String: Any]])
        #expect(slots.count == 5)
        #expect(slots[1]["name"] as? String == Fixture.hostileName)
        #expect((json["alerts"] as? [Any])?.count == 3)
        // The hostile name round-trips through JSON exactly.
        let decoded = try JSONDecoder().decode(ChassisSnapshot.self, from: Data(response.body))
        #expect(decoded.slots == Fixture.snapshot().slots)
    }

    @Test func slotDocumentShape() throws {
        let json = try object(try Fixture.app().get("/api/v1/chassis/660007770088/slots/3", MemoryStateSource()))
        #expect(json["chassisID"] as? String == Fixture.chassisID)
        let slot = try #require(json["slot"] as? [String: Any])
        #expect(slot["slotID"] as? Int == 3)
        #expect(slot["name"] as? String == Fixture.quoteName)
        let alerts = try #require(json["newAlerts"] as? [[String: Any]])
        #expect(alerts.map { $0["id"] as? Int } == [11, 10])
    }

    @Test func historyDocumentShape() throws {
        let target = "/api/v1/chassis/660007770088/slots/1/history?key=hwmon.coretemp-isa-0000.temp1&key=cpu.total.utilisation&seconds=60"
        let json = try object(try Fixture.app().get(target, MemoryStateSource()))
        let series = try #require(json["series"] as? [[String: Any]])
        #expect(series.map { $0["key"] as? String } == ["hwmon.coretemp-isa-0000.temp1", "cpu.total.utilisation"])
        #expect(series[0]["unit"] as? String == "celsius")
        let points = try #require(series[0]["points"] as? [[String: Any]])
        #expect(points.count == 7)
        #expect(Set(points[0].keys) == ["time", "min", "mean", "max"])
    }

    @Test func localAndClusterAreTheModelTypes() throws {
        let app = try Fixture.app()
        let local = try JSONDecoder().decode(LocalView.self, from: Data(app.get("/api/v1/local", MemoryStateSource()).body))
        #expect(local == Fixture.local(role: .active, leaseValid: true))
        let cluster = try JSONDecoder().decode(ClusterView.self, from: Data(app.get("/api/v1/cluster", MemoryStateSource()).body))
        #expect(cluster == Fixture.cluster())
    }

    @Test func alertsDocumentCounts() throws {
        let json = try object(try Fixture.app().get("/api/v1/alerts", MemoryStateSource()))
        #expect(json["newAlerts"] as? Int == 2)
        #expect(json["raisedCritical"] as? Int == 1)
        #expect(json["raisedWarning"] as? Int == 1)
    }

    @Test func membersMayReadAcrossOrigins() throws {
        let app = try Fixture.app()
        let member = app.get("/api/v1/local", MemoryStateSource(), headers: ["Origin": "http://127.0.1.2:8080", "Host": "127.0.1.1:8080"])
        #expect(member.header("Access-Control-Allow-Origin") == "http://127.0.1.2:8080")
        let stranger = app.get("/api/v1/local", MemoryStateSource(), headers: ["Origin": "http://evil.example", "Host": "127.0.1.1:8080"])
        #expect(stranger.header("Access-Control-Allow-Origin") == nil)
        let polled = app.get("/api/v1/chassis", MemoryStateSource(), headers: ["Origin": "http://127.0.1.3:8080"])
        #expect(polled.header("Access-Control-Allow-Origin") == "http://127.0.1.3:8080")
    }

    // MARK: - Writes

    @Test func thresholdGoesToTheEngine() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let body = """
        {"scope": {"slot": 3}, "metricKey": "hwmon.*", "limits": {"highWarning": 70, "highCritical": 90},
         "hysteresis": 2, "minimumDurationSeconds": 5}
        """
        let response = app.send("PUT", "/api/v1/thresholds", MemoryStateSource(), body: body)
        #expect(response.status == 200)
        #expect(try object(response)["id"] as? Int == 42)
        let expected = ThresholdRule(scope: .slot(3), metricKey: "hwmon.*", limits: Limits(highWarning: 70, highCritical: 90),
                                     hysteresis: 2, minimumDurationSeconds: 5)
        #expect(control.requests == [.setThreshold(expected)])
        _ = app.send("POST", "/api/v1/thresholds", MemoryStateSource(), body: "{\"metricKey\": \"cpu.total.utilisation\", \"scope\": \"global\"}")
        #expect(control.requests.last == .setThreshold(ThresholdRule(scope: .global, metricKey: "cpu.total.utilisation", limits: .none)))
    }

    static let badBodies: [(String, String, Int, String)] = [
        ("PUT", "{", 400, "not valid JSON"),
        ("PUT", "[1,2]", 400, "wrong type"),
        ("PUT", "{\"metricKey\": \"a\", \"limits\": {\"highWarning\": 90, \"highCritical\": 80}}", 400, "ordered"),
        ("PUT", "{\"metricKey\": \"a\", \"hysterisis\": 1}", 400, "unknown field \\\"hysterisis\\\""),
        ("PUT", "{\"metricKey\": \"\"}", 400, "must not be empty"),
        ("PUT", "{\"limits\": {}}", 400, "missing field"),
        ("PUT", "{\"metricKey\": \"a\", \"scope\": {\"slot\": 1, \"chassis\": \"x\"}}", 400, "exactly one"),
        ("PUT", "{\"metricKey\": \"a\", \"scope\": \"everywhere\"}", 400, "scope"),
        ("PUT", "{\"metricKey\": \"a\\u0000b\"}", 400, "control characters"),
        ("PATCH", "{}", 400, "nothing to change"),
        ("PATCH", "{\"name\": 5}", 400, "wrong type"),
        ("PATCH", "{\"name\": \"\(String(repeating: "x", count: 200))\"}", 400, "longer than"),
        ("PATCH", "{\"moduleType\": {\"function\": \"x\"}}", 400, "missing field \\\"moduleType.role\\\""),
    ]

    @Test(arguments: badBodies)
    func badBodiesChangeNothing(method: String, body: String, status: Int, fragment: String) throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let target = method == "PATCH" ? "/api/v1/chassis/660007770088/slots/2" : "/api/v1/thresholds"
        let response = app.send(method, target, MemoryStateSource(), body: body)
        #expect(response.status == status)
        #expect(response.bodyText.contains(fragment), "\(response.bodyText)")
        #expect(control.requests.isEmpty)
    }

    @Test func badUTF8BodyIs400() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let request = Request(method: "PUT", target: "/api/v1/thresholds",
                              headers: Fixture.headers(.session(.admin), method: "PUT", extra: ["Content-Type": "application/json"]),
                              body: [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D])
        let response = app.handle(request, source: MemoryStateSource())
        #expect(response.status == 400)
        #expect(response.bodyText.contains("UTF-8"))
        #expect(control.requests.isEmpty)
    }

    @Test func wrongMediaTypeIs415() throws {
        let response = try Fixture.app().send("PUT", "/api/v1/thresholds", MemoryStateSource(), body: "metricKey=a",
                                              headers: ["Content-Type": "text/plain"])
        #expect(response.status == 415)
    }

    @Test func slotRenameKeepsHostileTextVerbatim() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let body = "{\"name\": \"<img src=x onerror=alert(1)> & 'q'\", \"moduleType\": {\"role\": \"switch\", \"function\": \"top of rack\"}}"
        let response = app.send("PATCH", "/api/v1/chassis/660007770088/slots/5", MemoryStateSource(), body: body)
        #expect(response.status == 200)
        #expect(control.requests == [.setSlot(slotID: 5, name: "<img src=x onerror=alert(1)> & 'q'",
                                              moduleType: ModuleType(role: "switch", function: "top of rack", expectedModel: ""))])
        #expect(app.send("PATCH", "/api/v1/chassis/660007770088/slots/12", MemoryStateSource(), body: "{\"name\": \"x\"}").status == 404)
    }

    @Test func acknowledgeFromScriptAndFromForm() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let json = app.send("POST", "/api/v1/alerts/11/acknowledge", MemoryStateSource(), body: "{\"by\": \"alice\"}")
        #expect(json.status == 200)
        let empty = app.handle(app.request("POST", "/api/v1/alerts/10/acknowledge", remoteAddress: "127.0.0.9"),
                               source: MemoryStateSource())
        #expect(empty.status == 200)
        let form = app.send("POST", "/api/v1/alerts/9/acknowledge", MemoryStateSource(),
                            body: "return=%2Fchassis%2F660007770088%2Fslots%2F2",
                            headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(form.status == 303)
        #expect(form.header("Location") == "/chassis/660007770088/slots/2")
        let offsite = app.send("POST", "/api/v1/alerts/9/acknowledge", MemoryStateSource(), body: "return=%2F%2Fevil.example%2F",
                               headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(offsite.header("Location") == "/")
        // Changed by authentication: an acknowledgement is in the name of the logged-in user (here
        // the fixture's admin), with a script's `by` kept as a note; it used to be "web ADDRESS".
        #expect(control.requests == [
            .acknowledgeAlert(id: 11, by: "admin (alice)"), .acknowledgeAlert(id: 10, by: "admin"),
            .acknowledgeAlert(id: 9, by: "admin"), .acknowledgeAlert(id: 9, by: "admin"),
        ])
        // The client's address travels as the actor's, for the audit log.
        #expect(control.sent.map { $0.actor?.address } == ["127.0.0.1", "127.0.0.9", "127.0.0.1", "127.0.0.1"])
        #expect(control.sent.allSatisfy { $0.actor?.user == "admin" && $0.actor?.role == .admin && $0.actor?.via == "session" })
    }

    @Test func anAcknowledgementSaysWhyAndHowLong() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control, clock: 1_000_000)
        let json = app.send("POST", "/api/v1/alerts/11/acknowledge", MemoryStateSource(),
                            body: #"{"comment": "replacing the fan", "forSeconds": 3600}"#)
        #expect(json.status == 200)
        let form = app.send("POST", "/api/v1/alerts/10/acknowledge", MemoryStateSource(), body: "comment=known&for=86400&return=%2Falerts",
                            headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(form.status == 303 && form.header("Location") == "/alerts")
        #expect(control.requests == [
            .acknowledgeAlert(id: 11, by: "admin", comment: "replacing the fan", until: 1_003_600),
            .acknowledgeAlert(id: 10, by: "admin", comment: "known", until: 1_086_400),
        ])
        for (body, problem) in [(#"{"forSeconds": 10}"#, "forSeconds must be from 60 to 604800"),
                                (#"{"forSeconds": 1e9}"#, "forSeconds must be from 60 to 604800"),
                                (#"{"comment": "a\u0000b"}"#, "comment contains control characters"),
                                (#"{"until": 5}"#, "unknown field")] {
            let refused = app.send("POST", "/api/v1/alerts/9/acknowledge", MemoryStateSource(), body: body)
            #expect(refused.status == 400 && refused.bodyText.contains(problem), "\(body) \(refused.bodyText)")
        }
        #expect(control.requests.count == 2, "nothing refused reached the engine")
    }

    @Test func foreignOriginsCannotWrite() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let foreign = app.send("POST", "/api/v1/alerts/11/acknowledge", MemoryStateSource(), body: "",
                               headers: ["Origin": "http://evil.example", "Host": "127.0.1.1:8080"])
        #expect(foreign.status == 403)
        let same = app.send("POST", "/api/v1/alerts/11/acknowledge", MemoryStateSource(), body: "",
                            headers: ["Origin": "http://127.0.1.1:8080", "Host": "127.0.1.1:8080"])
        #expect(same.status == 200)
        let member = app.send("POST", "/api/v1/alerts/11/acknowledge", MemoryStateSource(), body: "",
                              headers: ["Origin": "http://127.0.1.2:8080", "Host": "127.0.1.1:8080"])
        #expect(member.status == 200)
        #expect(control.requests.count == 2)
        #expect(foreign.bodyText.contains("evil.example"))
    }

    @Test(arguments: [(404, 404), (409, 409), (503, 503), (500, 502)])
    func engineRefusalsMapToHTTP(code: Int, status: Int) throws {
        let control = RecordingControl()
        control.reply = ControlResponse(ok: false, error: "no such alert", code: code)
        let response = try Fixture.app(control: control).send("POST", "/api/v1/alerts/99/acknowledge", MemoryStateSource())
        #expect(response.status == status)
        #expect(try object(response)["error"] as? String == "no such alert")
    }

    @Test func unreachableEngineIs503() throws {
        let control = RecordingControl()
        control.error = ControlClientError.connectFailed(path: "/run/x.sock", errno: 2)
        let response = try Fixture.app(control: control).send("DELETE", "/api/v1/thresholds/4", MemoryStateSource())
        #expect(response.status == 503)
        #expect(response.header("Retry-After") == "1")
        #expect(response.bodyText.contains("cannot reach the engine"))
    }
}
