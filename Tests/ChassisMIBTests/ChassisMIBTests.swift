import Access
import AgentX
@testable import ChassisMIB
import Model
import Testing

enum Sample {
    static func metric(_ key: String, _ label: String, unit: String, value: Double?, limits: Limits = .none,
                       status: Status = .ok, metricClass: MetricClass = .health, fault: String? = nil) -> MetricValue {
        MetricValue(descriptor: MetricDescriptor(key: key, label: label, metricClass: metricClass, unit: unit, source: "libsensors",
                                                 replication: .dynamic, group: .sensors, component: "chip", prometheusName: "x"),
                    value: value, text: nil, fault: fault, sampledAt: 995, thresholds: limits, status: status, thresholdSource: "built-in")
    }

    static func slot(_ id: Int, serial: String?, metrics: [MetricValue], down: Bool = false) -> SlotView {
        SlotView(slotID: id, name: "", moduleType: ModuleType(role: "blade", function: "", expectedModel: ""), status: down ? .down : .ok,
                 module: serial.map { ModuleInfo(serial: $0, model: "CM-Blade", revision: "B", manufacturer: "Acme", macAddresses: [],
                                                 ipAddresses: [], installedAt: 0) },
                 history: [], metrics: metrics, lastReportAt: 990, downSince: down ? 900 : nil)
    }

    static let temperature = metric("hwmon.chip.temp1", "CPU", unit: "celsius", value: 47.25,
                                    limits: Limits(highWarning: 80, highCritical: 95))
    static let volts = metric("hwmon.chip.in0", "Vcore", unit: "volts", value: 1.2345)
    static let fan = metric("hwmon.chip.fan1", "Fan", unit: "rpm", value: 1800, fault: nil)
    static let faulty = metric("hwmon.chip.temp2", "Broken", unit: "celsius", value: nil, fault: "unreadable")
    static let cpu = metric("cpu.busy", "CPU busy", unit: "percent", value: 12, metricClass: .performance)

    static let snapshot = ChassisSnapshot(
        dataVersion: "1", generatedAt: 1000,
        chassis: ChassisInfo(chassisID: "660007770088", name: "Rack A", site: "", row: "", rack: "", shelf: "", slotCount: 4, status: .warning),
        slots: [slot(1, serial: "SN1", metrics: [temperature, volts, cpu]),
                slot(2, serial: "SN2", metrics: [fan, faulty]),
                slot(3, serial: nil, metrics: []),
                slot(4, serial: "SN4", metrics: [temperature], down: true)],
        chassisMetrics: [metric("chassis.fan1.rpm", "Chassis fan 1", unit: "rpm", value: 4000)],
        alerts: [Alert(id: 7, slotID: 1, metricKey: "hwmon.chip.temp1", metricLabel: "CPU", severity: .critical, message: "hot",
                       value: 97, raisedAt: 950, clearedAt: nil, acknowledgedAt: nil, acknowledgedBy: nil),
                 Alert(id: 8, slotID: 2, metricKey: "hwmon.chip.fan1", metricLabel: "Fan", severity: .warning, message: "slow",
                       value: 100, raisedAt: 960, clearedAt: 970, acknowledgedAt: nil, acknowledgedBy: nil)],
        engine: EngineFreshness(updatedAt: 999, stale: false))

    static let manager = ChassisMIB.Manager(activeName: "blade1", activeAddress: "127.0.1.1", term: 4, quorum: true,
                                            localName: "blade2", localRole: .standby)
    static let clock = ChassisMIB.Clock(now: 1000, sysUpTime: 100_000)
}

@Suite struct ChassisMIBTests {
    let table = ChassisMIB.table(Sample.snapshot, manager: Sample.manager, clock: Sample.clock, updateRateMs: [.sensors: 2000])

    func value(_ oid: OID) -> Value? { table.get(oid) }
    func entity(_ column: UInt32, _ index: UInt32) -> Value? { value(ChassisMIB.entPhysicalEntry + [column, index]) }
    func sensor(_ column: UInt32, _ index: UInt32) -> Value? { value(ChassisMIB.entPhySensorEntry + [column, index]) }

    /// The containment tree: chassis 1, slot N as N*1000 in it, the module N*1000+1 in the slot,
    /// its sensors (health only, by key) in the module; the chassis' own sensors in the chassis.
    @Test func containment() {
        #expect(entity(5, 1) == .integer(3))  // chassis
        #expect(entity(4, 1) == .integer(0))
        #expect(entity(11, 1) == .string("660007770088"))
        #expect(entity(5, 101) == .integer(8))
        #expect(entity(4, 101) == .integer(1))
        for slot: UInt32 in [1, 2, 3, 4] {
            #expect(entity(5, slot * 1000) == .integer(5), "slot \(slot) is a container")
            #expect(entity(4, slot * 1000) == .integer(1))
            #expect(entity(6, slot * 1000) == .integer(Int32(slot)))
        }
        #expect(entity(5, 1001) == .integer(9))
        #expect(entity(4, 1001) == .integer(1000))
        #expect(entity(11, 1001) == .string("SN1"))
        #expect(entity(13, 1001) == .string("CM-Blade"))
        #expect(entity(12, 1001) == .string("Acme"))
        #expect(entity(16, 1001) == .integer(1))
        #expect(entity(11, 3001) == nil, "an empty slot holds no module")
        // Slot 1's sensors by key: in0 (volts) before temp1; the performance metric is not a sensor.
        #expect(entity(7, 1101) == .string("Vcore"))
        #expect(entity(7, 1102) == .string("CPU"))
        #expect(entity(7, 1103) == nil)
        #expect(entity(4, 1102) == .integer(1001))
        #expect(entity(6, 1102) == .integer(2))
        #expect(value(ChassisMIB.entPhysicalContainsEntry + [1, 1001, 1102]) == .integer(1102))
    }

    @Test func sensorValues() {
        // 47.25 °C with one decimal: 473 (rounded), scale units, precision 1.
        #expect(sensor(1, 1102) == .integer(8))
        #expect(sensor(2, 1102) == .integer(9))
        #expect(sensor(3, 1102) == .integer(1))
        #expect(sensor(4, 1102) == .integer(473))
        #expect(sensor(5, 1102) == .integer(1))
        #expect(sensor(6, 1102) == .string("degrees C"))
        // Sampled 5 s before the build: 500 ticks before the master's uptime.
        #expect(sensor(7, 1102) == .timeTicks(99_500))
        #expect(sensor(8, 1102) == .gauge32(2000))
        // Volts with three decimals.
        #expect(sensor(1, 1101) == .integer(4))
        #expect(sensor(4, 1101) == .integer(1235))
        #expect(sensor(3, 1101) == .integer(3))
        // A fan: rpm, no decimals; a faulty sensor is nonoperational; a down blade's unavailable.
        #expect(sensor(1, 2101) == .integer(10))
        #expect(sensor(4, 2101) == .integer(1800))
        #expect(sensor(5, 2102) == .integer(3))
        #expect(sensor(5, 4101) == .integer(2))
    }

    @Test func thresholdsAndAlerts() {
        let entry = ChassisMIB.sensorEntry
        #expect(value(entry + [2, 1102]) == .string("hwmon.chip.temp1"))
        #expect(value(entry + [6, 1102]) == .integer(800))
        #expect(value(entry + [7, 1102]) == .integer(950))
        #expect(value(entry + [4, 1102]) == nil, "no low critical threshold: no instance")
        #expect(value(entry + [9, 1102]) == .integer(1))
        let alert = ChassisMIB.alertEntry
        #expect(value(alert + [2, 7]) == .integer(2))
        #expect(value(alert + [3, 7]) == .integer(1))
        #expect(value(alert + [4, 7]) == .integer(1102), "the alert names its sensor's entity")
        #expect(value(alert + [8, 7]) == .integer(1))
        #expect(value(alert + [8, 8]) == .integer(2))
        #expect(value(ChassisMIB.managerGroup + [1, 0]) == .string("blade1"))
        #expect(value(ChassisMIB.managerGroup + [6, 0]) == .integer(2))
    }

    @Test func lastChangeFollowsTheEntities() {
        #expect(value(ChassisMIB.entLastChangeTime) == .timeTicks(0))
        let changed = ChassisMIB.table(Sample.snapshot, manager: nil, clock: Sample.clock, entityLastChange: 4242)
        #expect(changed.get(ChassisMIB.entLastChangeTime) == .timeTicks(4242))
        var replaced = Sample.snapshot
        replaced.slots[0].module?.serial = "SN1-NEW"
        #expect(ChassisMIB.entitySignature(replaced) != ChassisMIB.entitySignature(Sample.snapshot))
        var moved = Sample.snapshot
        moved.slots[0].metrics[0].value = 99
        #expect(ChassisMIB.entitySignature(moved) == ChassisMIB.entitySignature(Sample.snapshot), "a new reading is no entity change")
    }

    /// A value too large for its unit's precision loses decimals rather than being clamped.
    @Test func precisionShrinks() {
        let huge = Sample.metric("x", "x", unit: "volts", value: 5_000_000)
        #expect(ChassisMIB.precision(for: huge) == 2)
        #expect(ChassisMIB.scaled(5_000_000, precision: 2) == 500_000_000)
        #expect(ChassisMIB.scaled(.nan, precision: 1) == nil)
        #expect(ChassisMIB.scaled(.infinity, precision: 0) == 1_000_000_000)
        #expect(ChassisMIB.scaled(-1e300, precision: 0) == -1_000_000_000)
    }

    /// A customer's context: its slots only (the chassis as the container, none of its devices,
    /// no other slot, no alert of another slot, no manager).
    @Test func customerScope() {
        let view = CustomerView.project(Sample.snapshot, scope: AccessScope(slots: [2]))
        let customer = ChassisMIB.table(view, manager: nil, clock: Sample.clock)
        let serials = customer.names.filter { $0.hasPrefix(ChassisMIB.entPhysicalEntry + [11]) }.compactMap { customer.get($0) }
        #expect(serials == [.string("660007770088"), .string(""), .string("SN2"), .string(""), .string("")])
        #expect(customer.names.allSatisfy { oid in
            !oid.hasPrefix(ChassisMIB.managerGroup) && !oid.hasPrefix(ChassisMIB.entPhysicalEntry + [7, 101])
                && !oid.hasPrefix(ChassisMIB.entPhysicalEntry + [7, 1000]) && !oid.hasPrefix(ChassisMIB.alertEntry + [2, 7])
        })
        #expect(customer.get(ChassisMIB.alertEntry + [2, 8]) == .integer(1))
        #expect(!customer.names.contains { customer.get($0) == .string("SN1") || customer.get($0) == .string("SN4") })
    }

    /// Walking the table from the start visits every OID once, sorted.
    @Test func walkIsSorted() {
        var previous = OID([0])
        var count = 0
        var range = SearchRange(start: OID([1]), include: false, end: .null)
        while true {
            let found = table.answerNext(range)
            if found.value == .endOfMibView { break }
            #expect(previous < found.name)
            previous = found.name
            count += 1
            range = SearchRange(start: found.name, include: false, end: .null)
        }
        #expect(count == table.count)
    }

    @Test func notificationVarBinds() {
        let alert = Sample.snapshot.alerts[0]
        let raised = ChassisMIB.notificationVarBinds(.alert(alert, cleared: false), snapshot: Sample.snapshot, sender: "blade1")
        #expect(raised.first == VarBind(ChassisMIB.snmpTrapOID, .objectIdentifier(ChassisMIB.alertRaised)))
        #expect(raised.contains(VarBind(ChassisMIB.alertEntry + [5, 7], .string("hwmon.chip.temp1"))))
        #expect(raised.contains(VarBind(ChassisMIB.alertEntry + [4, 7], .integer(1102))))
        #expect(raised.last == VarBind(ChassisMIB.managerGroup + [5, 0], .string("blade1")))
        #expect(!raised.contains { $0.name == ChassisMIB.alertEntry + [7, 7] }, "the MIB's OBJECTS only")
        let cleared = ChassisMIB.notificationVarBinds(.alert(alert, cleared: true), snapshot: Sample.snapshot, sender: "blade1")
        #expect(cleared.first?.value == .objectIdentifier(ChassisMIB.alertCleared))
        let changed = ChassisMIB.notificationVarBinds(.managerChanged(Sample.manager, previous: "blade3"), snapshot: Sample.snapshot,
                                                      sender: "blade1")
        #expect(changed.map(\.name) == [ChassisMIB.snmpTrapOID] + [1, 2, 3, 7, 5].map { ChassisMIB.managerGroup + [$0, 0] })
    }
}

@Suite struct TrapPlannerTests {
    static func alert(_ id: Int64, cleared: Bool = false) -> Alert {
        Alert(id: id, slotID: 1, metricKey: "k", metricLabel: "l", severity: .warning, message: "m", value: 1, raisedAt: 1,
              clearedAt: cleared ? 2 : nil, acknowledgedAt: nil, acknowledgedBy: nil)
    }

    static func manager(active: String, local: String, term: UInt64) -> ChassisMIB.Manager {
        ChassisMIB.Manager(activeName: active, activeAddress: "", term: term, quorum: true, localName: local,
                           localRole: active == local ? .active : .standby)
    }

    @Test func activeSendsChangesNotTheBaseline() {
        var planner = TrapPlanner()
        let me = Self.manager(active: "blade1", local: "blade1", term: 2)
        #expect(planner.observe(alerts: [Self.alert(1)], active: true, manager: me, now: 0).isEmpty, "the first look is the baseline")
        #expect(planner.observe(alerts: [Self.alert(1), Self.alert(2)], active: true, manager: me, now: 1)
                == [.alert(Self.alert(2), cleared: false)])
        #expect(planner.observe(alerts: [Self.alert(1, cleared: true), Self.alert(2)], active: true, manager: me, now: 2)
                == [.alert(Self.alert(1, cleared: true), cleared: true)])
        #expect(planner.observe(alerts: [Self.alert(1, cleared: true), Self.alert(2)], active: true, manager: me, now: 3).isEmpty)
    }

    @Test func standbySendsNothingThenCatchesUpWhenActive() {
        var planner = TrapPlanner()
        let standby = Self.manager(active: "blade1", local: "blade2", term: 2)
        #expect(planner.observe(alerts: [], active: false, manager: standby, now: 0).isEmpty)
        #expect(planner.observe(alerts: [Self.alert(5)], active: false, manager: standby, now: 1).isEmpty)
        #expect(planner.observe(alerts: [Self.alert(5), Self.alert(6)], active: false, manager: standby, now: 20).isEmpty)
        let active = Self.manager(active: "blade2", local: "blade2", term: 3)
        // Becoming active: the change of manager, then what changed in the last heldSeconds (6, not 5).
        #expect(planner.observe(alerts: [Self.alert(5), Self.alert(6)], active: true, manager: active, now: 25)
                == [.managerChanged(active, previous: "blade1"), .alert(Self.alert(6), cleared: false)])
        #expect(planner.observe(alerts: [Self.alert(5), Self.alert(6)], active: true, manager: active, now: 26).isEmpty)
        // Losing the role: silent again; regaining it: one more change.
        #expect(planner.observe(alerts: [Self.alert(5)], active: false, manager: standby, now: 27).isEmpty)
        #expect(planner.observe(alerts: [Self.alert(5)], active: true, manager: active, now: 28).count == 1)
    }

    @Test func alreadyActiveAtStartIsNoChange() {
        var planner = TrapPlanner()
        let me = Self.manager(active: "blade1", local: "blade1", term: 2)
        #expect(planner.observe(alerts: [], active: true, manager: me, now: 0).isEmpty)
    }

    /// An alert raised and cleared between two looks is both notifications, in order.
    @Test func raisedAndClearedBetweenLooks() {
        var planner = TrapPlanner()
        let me = Self.manager(active: "blade1", local: "blade1", term: 2)
        _ = planner.observe(alerts: [], active: true, manager: me, now: 0)
        #expect(planner.observe(alerts: [Self.alert(3, cleared: true)], active: true, manager: me, now: 1)
                == [.alert(Self.alert(3, cleared: true), cleared: false), .alert(Self.alert(3, cleared: true), cleared: true)])
    }
}

@Suite struct SNMPDConfigTests {
    @Test func rendersUsersContextsAndNoV2cByDefault() throws {
        let text = try SNMPDConfig.render(.init(agentAddress: "udp:10.0.0.1:161", agentxSocket: "/run/chassis/agentx.sock",
                                                operators: ["ops"], customers: ["customer-a"],
                                                informSinks: [("10.0.0.5", 162)], informUser: ("inform", "authpass1", "privpass1")))
        #expect(text.contains("master agentx\n"))
        #expect(text.contains("agentXSocket /run/chassis/agentx.sock\n"))
        #expect(text.contains("access chassisOperator_ops \"\" usm priv exact chassisAll none none\n"))
        #expect(text.contains("access chassisCustomer_customer-a customer-a usm priv exact chassisAll none none\n"))
        #expect(!text.contains("rocommunity") && !text.contains("com2sec"), "no SNMPv2c unless turned on")
        #expect(text.contains("trapsess -Ci -t 1 -r 1 -v 3 -u inform -l authPriv -a SHA-256 -A authpass1 -x AES -X privpass1 10.0.0.5:162\n"))
        let v2c = try SNMPDConfig.render(.init(agentAddress: "udp:10.0.0.1:161", agentxSocket: "/s", operators: [], customers: [],
                                               v2cCommunity: "secret-ro"))
        #expect(v2c.contains("rocommunity secret-ro default -V chassisAll\n"))
    }

    @Test(arguments: ["a b", "", "x\ny", "\"quoted\"", String(repeating: "n", count: 33)])
    func refusesWordsThatNeedQuoting(_ name: String) {
        #expect(throws: SNMPDConfig.Problem.self) {
            try SNMPDConfig.render(.init(agentAddress: "udp:1.2.3.4:161", agentxSocket: "/s", operators: [name], customers: []))
        }
        #expect(throws: SNMPDConfig.Problem.self) { try SNMPDConfig.createUserLine(name: name, authPassword: "12345678", privacyPassword: "12345678") }
    }

    @Test func createUser() throws {
        #expect(try SNMPDConfig.createUserLine(name: "ops", authPassword: "authpass1", privacyPassword: "privpass1")
                == "createUser ops SHA-256 authpass1 AES privpass1\n")
        #expect(throws: SNMPDConfig.Problem.self) { try SNMPDConfig.createUserLine(name: "ops", authPassword: "short", privacyPassword: "privpass1") }
        #expect(throws: SNMPDConfig.Problem.self) { try SNMPDConfig.createUserLine(name: "ops", authPassword: "has space1", privacyPassword: "privpass1") }
    }
}
