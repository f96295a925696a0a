import Access
import AgentX
import Model

/// The chassis as SNMP objects: ENTITY-MIB (RFC 6933) for the chassis, its slots, modules and
/// sensors as physical entities; ENTITY-SENSOR-MIB (RFC 3433) for the sensors' values; and the
/// product's own CHASSIS-MANAGER-MIB (`packaging/snmp/CHASSIS-MANAGER-MIB.txt`) for thresholds,
/// alerts and the manager. A pure function of a snapshot, built from the same projection as
/// every other representation: a customer's context holds its own slots only.
public enum ChassisMIB {
    public static let entityMIB = OID([1, 3, 6, 1, 2, 1, 47])
    public static let entPhysicalEntry = OID([1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1])
    public static let entPhysicalContainsEntry = OID([1, 3, 6, 1, 2, 1, 47, 1, 3, 3, 1])
    public static let entLastChangeTime = OID([1, 3, 6, 1, 2, 1, 47, 1, 4, 1, 0])
    public static let entitySensorMIB = OID([1, 3, 6, 1, 2, 1, 99])
    public static let entPhySensorEntry = OID([1, 3, 6, 1, 2, 1, 99, 1, 1, 1])
    /// The product's enterprise arc. 99999 is not an IANA-assigned enterprise number: a vendor
    /// shipping this replaces it with its own (here, in the MIB module, and nowhere else).
    public static let enterprise = OID([1, 3, 6, 1, 4, 1, 99999])
    public static let chassisManagerMIB = enterprise
    public static let notifications = chassisManagerMIB + [0]
    public static let objects = chassisManagerMIB + [1]
    public static let chassisGroup = objects + [1]
    public static let managerGroup = objects + [2]
    public static let sensorEntry = objects + [3, 1]
    public static let alertEntry = objects + [4, 1]

    /// The subtrees the subagent registers in every context it serves.
    public static let subtrees = [entityMIB, entitySensorMIB, chassisManagerMIB]

    /// Who manages the chassis, for the default context (operators) only.
    public struct Manager: Sendable, Equatable {
        public var activeName: String
        public var activeAddress: String
        public var term: UInt64
        public var quorum: Bool
        public var localName: String
        public var localRole: ManagerRole
        public init(activeName: String, activeAddress: String, term: UInt64, quorum: Bool, localName: String, localRole: ManagerRole) {
            self.activeName = activeName
            self.activeAddress = activeAddress
            self.term = term
            self.quorum = quorum
            self.localName = localName
            self.localRole = localRole
        }
    }

    /// What a table is built from besides the snapshot.
    public struct Clock: Sendable {
        /// Wall-clock time of the build (Unix seconds).
        public var now: Double
        /// The master agent's sysUpTime at `now`, in hundredths of a second.
        public var sysUpTime: UInt32
        public init(now: Double, sysUpTime: UInt32) {
            self.now = now
            self.sysUpTime = sysUpTime
        }
    }

    // MARK: Entities

    public enum EntityClass: Int32, Sendable {
        case other = 1, unknown, chassis, backplane, container, powerSupply, fan, sensor, module, port, stack, cpu
    }

    /// One physical entity (a row of entPhysicalTable).
    public struct Entity: Sendable, Equatable {
        public var index: Int32
        public var entityClass: EntityClass
        public var containedIn: Int32
        public var parentRelPos: Int32
        public var name: String
        public var description: String
        public var serial = ""
        public var model = ""
        public var manufacturer = ""
        public var hardwareRevision = ""
        public var isFRU = false
        /// The sensor it is, for class `sensor`.
        public var sensor: MetricValue?
        /// The slot whose blade reports the sensor (0: the chassis' own devices); its state.
        public var slotID = 0
        public var slotDown = false
    }

    /// Index of the chassis entity; slot N is `N * 1000`, its module `N * 1000 + 1`, the module's
    /// sensors `N * 1000 + 100 + i` (i from 1); the chassis' own sensors `100 + i`. Stable as long as a
    /// module's set of sensors is (sensors are numbered in the order of their keys).
    public static let chassisIndex: Int32 = 1
    public static let sensorsPerEntityMax = 899

    static func sensors(of metrics: [MetricValue]) -> [MetricValue] {
        let health = metrics.filter { $0.descriptor.metricClass == .health && $0.descriptor.unit != "text" }
        return Array(health.sorted { $0.descriptor.key < $1.descriptor.key }.prefix(sensorsPerEntityMax))
    }

    public static func entities(_ snapshot: ChassisSnapshot) -> [Entity] {
        let info = snapshot.chassis
        var list = [Entity(index: chassisIndex, entityClass: .chassis, containedIn: 0, parentRelPos: -1, name: info.name,
                           description: "Chassis Manager chassis \(info.chassisID)", serial: info.chassisID)]
        for (position, metric) in sensors(of: snapshot.chassisMetrics).enumerated() {
            list.append(Entity(index: 101 + Int32(position), entityClass: .sensor, containedIn: chassisIndex,
                               parentRelPos: Int32(position + 1), name: metric.descriptor.label,
                               description: "\(metric.descriptor.component) \(metric.descriptor.label)", sensor: metric))
        }
        for slot in snapshot.slots where (1...64).contains(slot.slotID) {
            let base = Int32(slot.slotID) * 1000
            let role = slot.moduleType.role.isEmpty ? "" : " (\(slot.moduleType.role))"
            list.append(Entity(index: base, entityClass: .container, containedIn: chassisIndex, parentRelPos: Int32(slot.slotID),
                               name: slot.name.isEmpty ? "Slot \(slot.slotID)" : slot.name,
                               description: "Slot \(slot.slotID)\(role)"))
            guard let module = slot.module else { continue }
            list.append(Entity(index: base + 1, entityClass: .module, containedIn: base, parentRelPos: 1,
                               name: "Module in slot \(slot.slotID)",
                               description: [module.manufacturer, module.model].filter { !$0.isEmpty }.joined(separator: " "),
                               serial: module.serial, model: module.model, manufacturer: module.manufacturer,
                               hardwareRevision: module.revision, isFRU: true))
            let down = slot.downSince != nil || slot.status == .off || slot.status == .down
            for (position, metric) in sensors(of: slot.metrics).enumerated() {
                list.append(Entity(index: base + 101 + Int32(position), entityClass: .sensor, containedIn: base + 1,
                                   parentRelPos: Int32(position + 1), name: metric.descriptor.label,
                                   description: "\(metric.descriptor.component) \(metric.descriptor.label)",
                                   sensor: metric, slotID: slot.slotID, slotDown: down))
            }
        }
        return list
    }

    /// What entLastChangeTime follows: every entity's index, class, place and identity. Equal
    /// signatures, no change; a new module, a renamed slot or a sensor that appeared, a change.
    public static func entitySignature(_ snapshot: ChassisSnapshot) -> [String] {
        entities(snapshot).map { entity in
            "\(entity.index)|\(entity.entityClass.rawValue)|\(entity.containedIn)|\(entity.parentRelPos)|\(entity.name)|"
                + "\(entity.serial)|\(entity.model)|\(entity.manufacturer)|\(entity.hardwareRevision)"
        }
    }

    // MARK: Sensor values

    /// ENTITY-SENSOR-MIB's EntitySensorDataType for a unit.
    public static func sensorType(unit: String) -> Int32 {
        switch unit {
        case "volts": return 4
        case "amperes": return 5
        case "watts": return 6
        case "hertz": return 7
        case "celsius": return 8
        case "rpm": return 10
        default: return 1
        }
    }

    /// The pages' unit symbols (`Format.unitSymbol`), in ASCII for SNMP's DisplayString, and the
    /// unit's own name where the pages show none.
    public static func unitsDisplay(unit: String) -> String {
        if unit == "celsius" { return "degrees C" }
        let symbol = Format.unitSymbol(unit)
        return symbol.isEmpty ? unit : symbol
    }

    /// Digits after the decimal point a unit's values carry (entPhySensorPrecision).
    static func precision(unit: String) -> Int {
        switch unit {
        case "volts", "amperes": return 3
        case "celsius", "watts", "percent": return 1
        case "rpm", "state": return 0
        default: return 2
        }
    }

    static let powersOfTen: [Double] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000]
    /// entPhySensorValue's range.
    static let sensorValueMax = 1_000_000_000.0

    /// The precision for a sensor: its unit's, fewer digits when its value or limits would not fit.
    public static func precision(for metric: MetricValue) -> Int {
        let limits = metric.thresholds
        let largest = [metric.value, limits.lowCritical, limits.lowWarning, limits.highWarning, limits.highCritical]
            .compactMap { $0 }.filter(\.isFinite).map(abs).max() ?? 0
        var digits = precision(unit: metric.descriptor.unit)
        while digits > 0 && largest * powersOfTen[digits] > sensorValueMax { digits -= 1 }
        return digits
    }

    /// A value in the sensor's units and precision, clamped to entPhySensorValue's range (nil for NaN).
    public static func scaled(_ value: Double, precision: Int) -> Int32? {
        guard !value.isNaN, (0..<powersOfTen.count).contains(precision) else { return nil }
        let scaled = (value * powersOfTen[precision]).rounded()
        return Int32(max(-sensorValueMax, min(sensorValueMax, scaled)))
    }

    /// entPhySensorOperStatus: ok(1), unavailable(2), nonoperational(3).
    static func operStatus(_ entity: Entity) -> Int32 {
        guard let metric = entity.sensor else { return 2 }
        if entity.slotDown { return 2 }
        if metric.fault != nil || metric.value == nil { return 3 }
        return 1
    }

    static func statusCode(_ status: Status) -> Int32 {
        switch status {
        case .ok: return 1
        case .unknown: return 2
        case .warning: return 3
        case .critical: return 4
        case .down: return 5
        case .off: return 6
        }
    }

    static func timeTicks(at time: Double, clock: Clock) -> UInt32 {
        let age = max(0, clock.now - time) * 100
        guard age.isFinite, age < Double(clock.sysUpTime) else { return 0 }
        return clock.sysUpTime - UInt32(age)
    }

    // MARK: The table

    /// Every object of a context. `manager` nil leaves the manager group out (a customer's context).
    /// - Parameter entityLastChange: entLastChangeTime, snmpd's sysUpTime when the entities last
    ///   changed as the caller saw them (`entitySignature`), 0 if never.
    public static func table(_ snapshot: ChassisSnapshot, manager: Manager?, clock: Clock,
                             updateRateMs: [SamplingGroup: Int] = [:], entityLastChange: UInt32 = 0) -> MIBTable {
        var entries: [VarBind] = []
        let entities = entities(snapshot)
        let indexes = Set(entities.map(\.index))
        for entity in entities {
            let i = UInt32(entity.index)
            func column(_ number: UInt32, _ value: Value) { entries.append(VarBind(entPhysicalEntry + [number, i], value)) }
            column(2, .string(entity.description))
            column(3, .objectIdentifier(OID([0, 0])))
            column(4, .integer(entity.containedIn))
            column(5, .integer(entity.entityClass.rawValue))
            column(6, .integer(entity.parentRelPos))
            column(7, .string(entity.name))
            column(8, .string(entity.hardwareRevision))
            column(9, .string(""))
            column(10, .string(""))
            column(11, .string(entity.serial))
            column(12, .string(entity.manufacturer))
            column(13, .string(entity.model))
            column(14, .string(""))
            column(15, .string(""))
            column(16, .integer(entity.isFRU ? 1 : 2))
            // Unknown manufacturing date: '0000000000000000'H (RFC 6933).
            column(17, .octetString([UInt8](repeating: 0, count: 8)))
            column(18, .string(""))
            if entity.containedIn != 0, indexes.contains(entity.containedIn) {
                entries.append(VarBind(entPhysicalContainsEntry + [1, UInt32(entity.containedIn), i], .integer(entity.index)))
            }
            guard let metric = entity.sensor else { continue }
            let digits = precision(for: metric)
            func sensor(_ number: UInt32, _ value: Value) { entries.append(VarBind(entPhySensorEntry + [number, i], value)) }
            sensor(1, .integer(sensorType(unit: metric.descriptor.unit)))
            sensor(2, .integer(9))  // units
            sensor(3, .integer(Int32(digits)))
            sensor(4, .integer(metric.value.flatMap { scaled($0, precision: digits) } ?? 0))
            sensor(5, .integer(operStatus(entity)))
            sensor(6, .string(unitsDisplay(unit: metric.descriptor.unit)))
            sensor(7, .timeTicks(timeTicks(at: metric.sampledAt, clock: clock)))
            sensor(8, .gauge32(UInt32(clamping: updateRateMs[metric.descriptor.group] ?? 0)))

            func product(_ number: UInt32, _ value: Value) { entries.append(VarBind(sensorEntry + [number, i], value)) }
            product(2, .string(metric.descriptor.key))
            product(3, .integer(statusCode(metric.status)))
            let limits = metric.thresholds
            for (number, limit) in [(4 as UInt32, limits.lowCritical), (5, limits.lowWarning), (6, limits.highWarning),
                                    (7, limits.highCritical)] {
                if let limit, let value = scaled(limit, precision: digits) { product(number, .integer(value)) }
            }
            product(8, .string(metric.thresholdSource ?? ""))
            product(9, .integer(Int32(entity.slotID)))
        }
        entries.append(VarBind(entLastChangeTime, .timeTicks(entityLastChange)))

        let info = snapshot.chassis
        entries.append(VarBind(chassisGroup + [1, 0], .string(info.chassisID)))
        entries.append(VarBind(chassisGroup + [2, 0], .string(info.name)))
        entries.append(VarBind(chassisGroup + [3, 0], .integer(statusCode(info.status))))
        if let manager {
            entries.append(VarBind(managerGroup + [1, 0], .string(manager.activeName)))
            entries.append(VarBind(managerGroup + [2, 0], .string(manager.activeAddress)))
            entries.append(VarBind(managerGroup + [3, 0], .gauge32(UInt32(clamping: manager.term))))
            entries.append(VarBind(managerGroup + [4, 0], .integer(manager.quorum ? 1 : 2)))
            entries.append(VarBind(managerGroup + [5, 0], .string(manager.localName)))
            entries.append(VarBind(managerGroup + [6, 0], .integer(roleCode(manager.localRole))))
        }
        let sensorIndex = sensorIndexes(entities)
        for alert in snapshot.alerts {
            guard let id = alertIndex(alert) else { continue }
            entries += alertVarBinds(alert, id: id, sensorIndex: sensorIndex[SensorKey(slot: alert.slotID ?? 0, key: alert.metricKey)] ?? 0)
        }
        return MIBTable(entries)
    }

    static func roleCode(_ role: ManagerRole) -> Int32 {
        switch role {
        case .active: return 1
        case .standby: return 2
        case .candidate: return 3
        case .witness: return 4
        case .down: return 5
        case .unknown: return 6
        }
    }

    struct SensorKey: Hashable {
        var slot: Int
        var key: String
    }

    static func sensorIndexes(_ entities: [Entity]) -> [SensorKey: Int32] {
        var map: [SensorKey: Int32] = [:]
        for entity in entities {
            if let metric = entity.sensor { map[SensorKey(slot: entity.slotID, key: metric.descriptor.key)] = entity.index }
        }
        return map
    }

    /// The alert's row index (cmAlertId, 1 to 2^32-1), nil for an id outside it.
    public static func alertIndex(_ alert: Alert) -> UInt32? {
        (1...Int64(UInt32.max)).contains(alert.id) ? UInt32(alert.id) : nil
    }

    /// The columns of an alert's row (cmAlertEntry), also the objects its notifications carry.
    static func alertVarBinds(_ alert: Alert, id: UInt32, sensorIndex: Int32) -> [VarBind] {
        func column(_ number: UInt32, _ value: Value) -> VarBind { VarBind(alertEntry + [number, id], value) }
        return [
            column(2, .integer(alert.severity == .critical ? 2 : 1)),
            column(3, .integer(Int32(clamping: alert.slotID ?? 0))),
            column(4, .integer(sensorIndex)),
            column(5, .string(alert.metricKey)),
            column(6, .string(alert.message)),
            column(7, .gauge32(UInt32(clamping: Int64(max(0, min(alert.raisedAt, 4e9)))))),
            column(8, .integer(alert.clearedAt == nil ? 1 : 2)),
            column(9, .integer(alert.acknowledgedAt == nil ? 2 : 1)),
        ]
    }

    // MARK: Notifications

    public static let snmpTrapOID = OID([1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0])
    public static let alertRaised = notifications + [1]
    public static let alertCleared = notifications + [2]
    public static let managerChanged = notifications + [3]

    /// The variable bindings of a notification's AgentX Notify: snmpTrapOID.0 and the objects the
    /// MIB lists for it (the master adds sysUpTime.0).
    /// Every notification ends with cmManagerLocalName.0, the blade that sent it (the active manager).
    public static func notificationVarBinds(_ event: TrapEvent, snapshot: ChassisSnapshot, sender: String) -> [VarBind] {
        switch event {
        case let .alert(alert, cleared):
            guard let id = alertIndex(alert) else { return [] }
            let index = sensorIndexes(entities(snapshot))[SensorKey(slot: alert.slotID ?? 0, key: alert.metricKey)] ?? 0
            let columns = alertVarBinds(alert, id: id, sensorIndex: index).filter { [2, 3, 4, 5, 6, 8].contains($0.name.components[$0.name.components.count - 2]) }
            return [VarBind(snmpTrapOID, .objectIdentifier(cleared ? alertCleared : alertRaised))] + columns
                + [VarBind(managerGroup + [5, 0], .string(sender))]
        case let .managerChanged(manager, previous):
            return [VarBind(snmpTrapOID, .objectIdentifier(managerChanged)),
                    VarBind(managerGroup + [1, 0], .string(manager.activeName)),
                    VarBind(managerGroup + [2, 0], .string(manager.activeAddress)),
                    VarBind(managerGroup + [3, 0], .gauge32(UInt32(clamping: manager.term))),
                    VarBind(managerGroup + [7, 0], .string(previous)),
                    VarBind(managerGroup + [5, 0], .string(sender))]
        }
    }
}
