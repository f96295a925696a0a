import Foundation
import Testing
import Access
import Model
@testable import Web

/// A customer scoped to slots 2 and 3 sees those slots' modules and nothing that identifies
/// another slot's, in every representation.
@Suite struct CustomerScopeTests {
    static let chassisID = Fixture.chassisID

    /// A chassis whose every slot is told apart by its serial, name, addresses, values, labels and
    /// alerts; the chassis' own devices and alert are told apart too.
    static func snapshot() -> ChassisSnapshot {
        func slot(_ id: Int) -> SlotView {
            let module = ModuleInfo(serial: "SERIAL-S\(id)", model: "MODEL-S\(id)", revision: "R", manufacturer: "ACME",
                                    macAddresses: ["02:77:00:00:00:0\(id)"], ipAddresses: ["10.77.\(id).9"],
                                    installedAt: Fixture.now - 86_400)
            let old = ModuleInfo(serial: "OLD-SERIAL-S\(id)", model: "MODEL-S\(id)", revision: "R", manufacturer: "ACME",
                                 macAddresses: [], ipAddresses: [], installedAt: Fixture.now - 900_000, removedAt: Fixture.now - 86_400)
            let fan = Fixture.metric(Fixture.descriptor("fan.speed", "LABEL-S\(id)", unit: "rpm", group: .sensors, component: "fans",
                                                        name: "node_hwmon_fan_rpm", labels: ["fan": "1"], metricClass: .health),
                                     Double(7_300 + id))
            let serial = Fixture.metric(Fixture.descriptor("id.serial", "Serial", unit: "text", group: .identification,
                                                           component: "identification", name: "", metricClass: .identification),
                                        nil, text: "SERIAL-S\(id)")
            return SlotView(slotID: id, name: "NAME-S\(id)", moduleType: ModuleType(role: "blade", function: "FUNCTION-S\(id)", expectedModel: ""),
                            status: .ok, module: module, history: [module, old], metrics: [fan, serial],
                            lastReportAt: Fixture.now - 1, downSince: nil)
        }
        let psu = Fixture.metric(Fixture.descriptor("psu.1.power", "PSU-LABEL", unit: "watts", group: .sensors, component: "psu 1",
                                                    name: "chassis_psu_power_watts", metricClass: .health), 9_191)
        var alerts = (1...5).map { id in
            Alert(id: Int64(100 + id), slotID: id, metricKey: "fan.speed", metricLabel: "LABEL-S\(id)", severity: .warning,
                  message: "ALERT-S\(id)", value: Double(7_300 + id), raisedAt: Fixture.now - 60, clearedAt: nil,
                  acknowledgedAt: nil, acknowledgedBy: nil)
        }
        alerts.append(Alert(id: 200, slotID: nil, metricKey: "psu.1.power", metricLabel: "PSU-LABEL", severity: .critical,
                            message: "CHASSIS-ALERT", value: 9_191, raisedAt: Fixture.now - 30, clearedAt: nil, acknowledgedAt: nil,
                            acknowledgedBy: nil))
        return ChassisSnapshot(
            dataVersion: "v1", generatedAt: Fixture.now,
            chassis: ChassisInfo(chassisID: chassisID, name: "Rack A", site: "DC", row: "1", rack: "2", shelf: "3", slotCount: 8,
                                 status: .critical),
            slots: (1...5).map(slot), chassisMetrics: [psu], alerts: alerts,
            engine: EngineFreshness(updatedAt: Fixture.now - 1, stale: false))
    }

    static let otherSlots = [1, 4, 5]

    /// Nothing of another slot: its serials, name, function, model, addresses, value, label, alert; nor
    /// the chassis' own devices; nor the blade that serves (it sits in slot 1).
    static let forbidden: [String] = otherSlots.flatMap { id in
        ["SERIAL-S\(id)", "NAME-S\(id)", "FUNCTION-S\(id)", "MODEL-S\(id)", "02:77:00:00:00:0\(id)", "10.77.\(id).9", "730\(id)",
         "LABEL-S\(id)", "ALERT-S\(id)"]
    } + ["PSU-LABEL", "9191", "CHASSIS-ALERT", "blade-1"]

    static func source() -> MemoryStateSource { MemoryStateSource(snapshot: snapshot()) }

    func expectNoLeak(_ response: Response, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let body = response.bodyText
        let leaks = Self.forbidden.filter { body.contains($0) }
        #expect(leaks.isEmpty, "\(what) (\(response.status)) shows \(leaks)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [Credential.session(.customer), .token(.customer)])
    func theOverviewPage(credential: Credential) throws {
        let response = try Fixture.app().get("/", Self.source(), as: credential)
        #expect(response.status == 200)
        let html = response.bodyText
        #expect(html.contains("SERIAL-S2") && html.contains("SERIAL-S3"))
        #expect(html.contains("NAME-S2") && html.contains("ALERT-S3"))
        #expect(html.contains("data-slot=\"2\"") && html.contains("data-slot=\"3\""))
        for slot in [1, 4, 5, 6, 7, 8] { #expect(!html.contains("data-slot=\"\(slot)\""), "slot \(slot) is drawn") }
        expectNoLeak(response, "the overview")
        // The overall status line of the chassis is there.
        #expect(html.contains("data-chassis-badge>Critical"))
        // Not even the page's policy names the blades (a customer follows a failover by name).
        let policy = try #require(response.header("Content-Security-Policy"))
        #expect(!policy.contains("127.0.1."), "\(policy)")
        #expect(policy.contains("http://chassis.example:8080"), "\(policy)")
    }

    @Test func theStaffOverviewShowsEverySlot() throws {
        let html = try Fixture.app().get("/", Self.source(), as: .session(.viewer)).bodyText
        for id in 1...5 { #expect(html.contains("SERIAL-S\(id)")) }
        #expect(html.contains("blade-1"))
    }

    @Test(arguments: 0...9)
    func theModulePages(slot: Int) throws {
        let response = try Fixture.app().get("/chassis/\(Self.chassisID)/slots/\(slot)", Self.source(), as: .session(.customer))
        if [2, 3].contains(slot) {
            #expect(response.status == 200)
            #expect(response.bodyText.contains("SERIAL-S\(slot)"))
            #expect(response.bodyText.contains("OLD-SERIAL-S\(slot)"))
            #expect(response.bodyText.contains("10.77.\(slot).9"))
        } else {
            #expect(response.status == 404, "slot \(slot)")
        }
        expectNoLeak(response, "module page \(slot)")
    }

    @Test(arguments: [Credential.session(.customer), .token(.customer)])
    func theChassisDocument(credential: Credential) throws {
        let response = try Fixture.app().get("/api/v1/chassis", Self.source(), as: credential)
        #expect(response.status == 200)
        let decoded = try JSONDecoder().decode(ChassisSnapshot.self, from: Data(response.body))
        #expect(decoded.slots.map(\.slotID) == [2, 3])
        #expect(decoded.slots.map { $0.module?.serial } == ["SERIAL-S2", "SERIAL-S3"])
        #expect(decoded.chassisMetrics.isEmpty)
        #expect(decoded.alerts.map(\.id).sorted() == [102, 103])
        #expect(decoded.chassis.status == .critical, "the overall status line")
        expectNoLeak(response, "/api/v1/chassis")
    }

    @Test(arguments: 0...9)
    func theSlotDocuments(slot: Int) throws {
        let response = try Fixture.app().get("/api/v1/chassis/\(Self.chassisID)/slots/\(slot)", Self.source(), as: .token(.customer))
        if [2, 3].contains(slot) {
            #expect(response.status == 200)
            #expect(response.bodyText.contains("SERIAL-S\(slot)"))
        } else {
            #expect(response.status == 404, "slot \(slot)")
        }
        expectNoLeak(response, "slot document \(slot)")
    }

    /// Redfish, crawled as a client would from the service root (every `@odata.id` it is shown),
    /// plus the paths of the other slots, the enclosure and its devices it could guess.
    @Test(arguments: [Credential.session(.customer), .token(.customer)])
    func redfish(credential: Credential) throws {
        let app = try Fixture.app()
        let source = Self.source()
        var queue = ["/redfish/v1/"]
        var seen: Set<String> = []
        while let path = queue.popLast() {
            guard seen.insert(path).inserted, seen.count < 200 else { continue }
            let response = app.get(path, source, as: credential)
            expectNoLeak(response, "Redfish \(path)")
            guard response.status == 200 else { continue }
            queue += Self.odataIDs(try JSONSerialization.jsonObject(with: Data(response.body)))
        }
        #expect(seen.contains("/redfish/v1/Chassis/Slot2") && seen.contains("/redfish/v1/Chassis/Slot3"))
        #expect(!seen.contains("/redfish/v1/Chassis/\(Self.chassisID)"), "the enclosure is linked for a customer")
        let chassis = app.get("/redfish/v1/Chassis/Slot2", source, as: credential).bodyText
        #expect(chassis.contains("SERIAL-S2"))
        for path in ["/redfish/v1/Chassis/Slot1", "/redfish/v1/Chassis/Slot4/Sensors", "/redfish/v1/Chassis/\(Self.chassisID)",
                     "/redfish/v1/Chassis/\(Self.chassisID)/Sensors", "/redfish/v1/Chassis/\(Self.chassisID)/PowerSubsystem/PowerSupplies"] {
            let response = app.get(path, source, as: credential)
            #expect(response.status == 404, "\(path): \(response.status)")
            expectNoLeak(response, "Redfish \(path)")
        }
        for path in ["/redfish/v1/Managers", "/redfish/v1/Managers/blade-1", "/redfish/v1/AccountService/Accounts"] {
            #expect(app.get(path, source, as: credential).status == 403, "\(path)")
        }
    }

    /// Every `@odata.id` in a Redfish document, however deep.
    static func odataIDs(_ value: Any) -> [String] {
        if let dictionary = value as? [String: Any] {
            let own = (dictionary["@odata.id"] as? String).map { [$0] } ?? []
            return own + dictionary.values.flatMap(odataIDs)
        }
        if let array = value as? [Any] { return array.flatMap(odataIDs) }
        return []
    }

    @Test func history() throws {
        let app = try Fixture.app()
        let source = Self.source()
        let own = app.get("/api/v1/chassis/\(Self.chassisID)/slots/2/history?key=fan.speed", source, as: .session(.customer))
        #expect(own.status == 200)
        #expect(own.bodyText.contains("LABEL-S2"))
        expectNoLeak(own, "history of slot 2")
        for (slot, key) in [(1, "fan.speed"), (4, "fan.speed"), (5, "fan.speed"), (0, "psu.1.power"), (0, "fan.speed"), (9, "fan.speed")] {
            let response = app.get("/api/v1/chassis/\(Self.chassisID)/slots/\(slot)/history?key=\(key)", source, as: .session(.customer))
            #expect(response.status == 404, "slot \(slot) \(key)")
            expectNoLeak(response, "history of slot \(slot)")
        }
        // Staff read slot 0, the chassis' own devices.
        let staff = app.get("/api/v1/chassis/\(Self.chassisID)/slots/0/history?key=psu.1.power", source, as: .session(.viewer))
        #expect(staff.status == 200)
        #expect(staff.bodyText.contains("PSU-LABEL"))
    }

    @Test func alerts() throws {
        let response = try Fixture.app().get("/api/v1/alerts", Self.source(), as: .session(.customer))
        #expect(response.status == 200)
        #expect(response.bodyText.contains("ALERT-S2") && response.bodyText.contains("ALERT-S3"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(object["newAlerts"] as? Int == 2)
        #expect(object["raisedCritical"] as? Int == 0, "the chassis' critical alert is not the customer's")
        expectNoLeak(response, "/api/v1/alerts")
    }

    @Test func metricsWithTheCustomersToken() throws {
        let response = try Fixture.app().get("/metrics", Self.source(), as: .token(.customer))
        #expect(response.status == 200)
        let parsed = try ParsedExposition(response.bodyText)
        let fans = parsed.samples.filter { $0.name == "node_hwmon_fan_rpm" }
        #expect(fans.map(\.value).sorted() == [7_302, 7_303])
        #expect(Set(fans.compactMap { $0.labels["slot"] }) == ["2", "3"])
        #expect(!parsed.samples.contains { $0.name == "chassis_manager_active" || $0.labels["blade"] != nil })
        #expect(!parsed.samples.contains { $0.labels["slot"] == "0" })
        #expect(parsed.samples.first { $0.name == "chassis_manager_alerts_raised" && $0.labels["severity"] == "critical" }?.value == 0)
        expectNoLeak(response, "/metrics")
    }

    @Test func errorPagesShowTheCustomersViewOnly() throws {
        let app = try Fixture.app()
        let source = Self.source()
        let pages: [(String, String, Int)] = [
            ("GET", "/chassis/\(Self.chassisID)/slots/1", 404),
            ("GET", "/chassis/\(Self.chassisID)/slots/x", 400),
            ("GET", "/users", 403),
            ("GET", "/audit", 403),
            ("GET", "/nowhere", 404),
            ("POST", "/", 405),
            ("POST", "/api/v1/thresholds", 403),
            ("PATCH", "/api/v1/chassis/\(Self.chassisID)/slots/2", 403),
            ("GET", "/api/v1/chassis/\(Self.chassisID)/slots/1/history?key=fan.speed", 404),
        ]
        for (method, target, status) in pages {
            let response = app.handle(app.request(method, target, as: .session(.customer)), source: source)
            #expect(response.status == status, "\(method) \(target)")
            expectNoLeak(response, "\(method) \(target)")
        }
        // The 404 page of a module keeps the customer's own banner.
        let missing = app.get("/chassis/\(Self.chassisID)/slots/1", source, as: .session(.customer))
        #expect(missing.bodyText.contains("ALERT-S2"))
    }

    @Test(arguments: ["/api/v1/cluster", "/api/v1/local", "/api/v1/users", "/api/v1/audit", "/api/v1/tokens",
                      "/api/v1/login-locks", "/users", "/audit"])
    func staffRoutesAre403(target: String) throws {
        let app = try Fixture.app()
        for credential in [Credential.session(.customer), .token(.customer)] {
            let response = app.get(target, Self.source(), as: credential)
            #expect(response.status == 403, "\(target) as \(credential)")
            expectNoLeak(response, target)
            #expect(!response.bodyText.contains("127.0.1.2"), "no member's address")
        }
    }

    @Test func whoAmISaysTheScopeAndNoSlotOfTheMembers() throws {
        let response = try Fixture.app().get("/api/v1/session", Self.source(), as: .session(.customer))
        #expect(response.status == 200)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(object["user"] as? String == "cust")
        #expect(object["role"] as? String == "customer")
        #expect(object["slots"] as? [Int] == [2, 3])
        expectNoLeak(response, "/api/v1/session")
    }

    /// The cache of encoded bodies and the ETag are per view: a staff read first does not hand the
    /// customer the whole chassis, nor a `304` for it.
    @Test func cachedBodiesAndTagsArePerView() throws {
        let app = try Fixture.app()
        let source = Self.source()
        for target in ["/api/v1/chassis", "/api/v1/alerts", "/api/v1/chassis/\(Self.chassisID)/slots/2"] {
            let staff = app.get(target, source, as: .session(.admin))
            #expect(staff.status == 200)
            let tag = try #require(staff.header("ETag"))
            let customer = app.get(target, source, headers: ["If-None-Match": tag], as: .session(.customer))
            #expect(customer.status == 200, "\(target): the staff's tag must not match the customer's view")
            #expect(customer.header("ETag") != tag)
            expectNoLeak(customer, target)
            let again = app.get(target, source, headers: ["If-None-Match": customer.header("ETag")!], as: .token(.customer))
            #expect(again.status == 304)
        }
        #expect(source.snapshotReads == 1)
    }

    /// A customer's scope naming another chassis sees none of this one's slots.
    @Test func aScopeOfAnotherChassis() throws {
        let source = Self.source()
        source.accessState.users["cust"]?.scope = AccessScope(chassisID: "111111111111", slots: [2, 3])
        let app = try Fixture.app()
        let response = app.get("/api/v1/chassis", source, as: .session(.customer))
        #expect(response.status == 200)
        let decoded = try JSONDecoder().decode(ChassisSnapshot.self, from: Data(response.body))
        #expect(decoded.slots.isEmpty)
        #expect(!response.bodyText.contains("SERIAL-S"))
    }
}
