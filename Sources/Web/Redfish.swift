import Access
import Foundation
import Model

/// DMTF Redfish (read-only) over the chassis, built from the same snapshot as every other
/// representation, so a customer's scope holds here too: the enclosure and each blade as
/// Chassis resources (`Contains` / `ContainedBy`), their sensors with thresholds, the power
/// supplies and fans of the enclosure, each blade as a Manager with the active one marked,
/// sessions (`X-Auth-Token`) and, for admins, the accounts.
///
/// Pure: a function of the snapshot, the cluster view and the users. Documents are
/// `[String: Any]` for `JSONSerialization`: Redfish's shapes are many and loose, and every value
/// put in is a String, a number, a Bool, an array or a dictionary of them.
enum Redfish {
    static let root = "/redfish/v1"
    static let version = "1.20.0"

    typealias Document = [String: Any]

    static func link(_ path: String) -> Document { ["@odata.id": path] }

    static func resource(_ path: String, type: String, id: String, name: String) -> Document {
        ["@odata.id": path, "@odata.type": type, "Id": id, "Name": name]
    }

    static func collection(_ path: String, type: String, name: String, members: [String]) -> Document {
        ["@odata.id": path, "@odata.type": "#\(type).\(type)", "Name": name,
         "Members": members.map(link), "Members@odata.count": members.count]
    }

    static func health(_ status: Status) -> String {
        switch status {
        case .ok, .off, .unknown: return "OK"
        case .warning: return "Warning"
        case .critical, .down: return "Critical"
        }
    }

    // MARK: Service root

    /// A UUID that stays with the chassis: derived from its ID, with RFC 4122's version and variant bits.
    static func uuid(_ chassisID: String) -> String {
        // Two FNV-1a hashes of the ID (a stable name, not a secret: nothing needs it unguessable).
        func fnv(_ seed: UInt64) -> [UInt8] {
            var hash = FNV1a64(seed: seed)
            hash.add("chassis-manager:" + chassisID)
            return hash.bytes
        }
        var hash = fnv(0xCBF2_9CE4_8422_2325) + fnv(0x8422_2325_CBF2_9CE4)
        hash[6] = (hash[6] & 0x0F) | 0x50
        hash[8] = (hash[8] & 0x3F) | 0x80
        let hex = hash.map { String(format: "%02x", $0) }.joined()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.map(String.init).joined(separator: "-")
    }

    static func serviceRoot(chassisID: String, product: String) -> Document {
        var document = resource(root + "/", type: "#ServiceRoot.v1_20_0.ServiceRoot", id: "RootService", name: "Chassis Manager")
        document["RedfishVersion"] = version
        document["UUID"] = uuid(chassisID)
        document["Product"] = product
        document["Vendor"] = "Chassis Manager"
        document["Chassis"] = link(root + "/Chassis")
        document["Managers"] = link(root + "/Managers")
        document["SessionService"] = link(root + "/SessionService")
        document["AccountService"] = link(root + "/AccountService")
        document["Links"] = ["Sessions": link(root + "/SessionService/Sessions")]
        return document
    }

    static func odataService() -> Document {
        let singletons = [("Service", "/redfish/v1/"), ("Chassis", "/redfish/v1/Chassis"), ("Managers", "/redfish/v1/Managers"),
                          ("SessionService", "/redfish/v1/SessionService"), ("AccountService", "/redfish/v1/AccountService"),
                          ("Sessions", "/redfish/v1/SessionService/Sessions")]
        return ["@odata.context": root + "/$metadata",
                "value": singletons.map { ["name": $0.0, "kind": "Singleton", "url": $0.1] as Document }]
    }

    /// `$metadata`: the DMTF schemas the service's types come from.
    static let metadata: String = {
        let namespaces = ["ServiceRoot": "ServiceRoot.v1_20_0", "ChassisCollection": "ChassisCollection", "Chassis": "Chassis.v1_28_0",
                          "SensorCollection": "SensorCollection", "Sensor": "Sensor.v1_12_0",
                          "ManagerCollection": "ManagerCollection", "Manager": "Manager.v1_24_0",
                          "SessionService": "SessionService.v1_2_0", "SessionCollection": "SessionCollection",
                          "Session": "Session.v1_8_0", "AccountService": "AccountService.v1_18_1",
                          "ManagerAccountCollection": "ManagerAccountCollection", "ManagerAccount": "ManagerAccount.v1_14_1",
                          "PowerSubsystem": "PowerSubsystem.v1_1_3", "PowerSupplyCollection": "PowerSupplyCollection",
                          "PowerSupply": "PowerSupply.v1_6_0", "ThermalSubsystem": "ThermalSubsystem.v1_5_0",
                          "FanCollection": "FanCollection", "Fan": "Fan.v1_6_0"]
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">

            """
        for (schema, namespace) in namespaces.sorted(by: { $0.key < $1.key }) {
            xml += """
                  <edmx:Reference Uri="http://redfish.dmtf.org/schemas/v1/\(schema)_v1.xml">
                    <edmx:Include Namespace="\(schema)"/>
                \(namespace == schema ? "" : "    <edmx:Include Namespace=\"\(namespace)\"/>\n")  </edmx:Reference>

                """
        }
        xml += """
              <edmx:DataServices>
                <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">
                  <EntityContainer Name="Service" Extends="ServiceRoot.v1_20_0.ServiceContainer"/>
                </Schema>
              </edmx:DataServices>
            </edmx:Edmx>

            """
        return xml
    }()

    // MARK: Chassis

    /// The blade of slot `n` as a Chassis resource's Id.
    static func bladeID(_ slot: Int) -> String { "Slot\(slot)" }

    static func chassisCollection(_ snapshot: ChassisSnapshot, customer: Bool) -> Document {
        var members = customer ? [] : [root + "/Chassis/" + snapshot.chassis.chassisID]
        members += snapshot.slots.filter { $0.module != nil }.map { root + "/Chassis/" + bladeID($0.slotID) }
        return collection(root + "/Chassis", type: "ChassisCollection", name: "Chassis", members: members)
    }

    static func enclosure(_ snapshot: ChassisSnapshot, cluster: ClusterView?) -> Document {
        let info = snapshot.chassis
        let path = root + "/Chassis/" + info.chassisID
        var document = resource(path, type: "#Chassis.v1_28_0.Chassis", id: info.chassisID, name: info.name)
        document["ChassisType"] = "Enclosure"
        document["SerialNumber"] = info.chassisID
        document["Status"] = ["State": "Enabled", "Health": health(info.status)]
        document["PowerState"] = "On"
        if !info.site.isEmpty || !info.rack.isEmpty {
            var placement: Document = [:]
            if !info.row.isEmpty { placement["Row"] = info.row }
            if !info.rack.isEmpty { placement["Rack"] = info.rack }
            if !info.shelf.isEmpty { placement["RackOffset"] = Int(info.shelf) ?? 0 }
            if !info.site.isEmpty { placement["AdditionalInfo"] = info.site }
            document["Location"] = ["Placement": placement]
        }
        document["Sensors"] = link(path + "/Sensors")
        document["PowerSubsystem"] = link(path + "/PowerSubsystem")
        document["ThermalSubsystem"] = link(path + "/ThermalSubsystem")
        var links: Document = ["Contains": snapshot.slots.filter { $0.module != nil }.map { link(root + "/Chassis/" + bladeID($0.slotID)) }]
        if let active = cluster?.active { links["ManagedBy"] = [link(root + "/Managers/" + active.name)] }
        document["Links"] = links
        return document
    }

    static func blade(_ slot: SlotView, chassisID: String, customer: Bool, manager: String?) -> Document {
        let path = root + "/Chassis/" + bladeID(slot.slotID)
        var document = resource(path, type: "#Chassis.v1_28_0.Chassis", id: bladeID(slot.slotID),
                                name: slot.name.isEmpty ? "Slot \(slot.slotID)" : "Slot \(slot.slotID) (\(slot.name))")
        document["ChassisType"] = "Blade"
        if let module = slot.module {
            document["Manufacturer"] = module.manufacturer
            document["Model"] = module.model
            document["SerialNumber"] = module.serial
            document["Version"] = module.revision
        }
        let powered = slot.power?.powered ?? true
        document["PowerState"] = powered ? "On" : "Off"
        var status: Document = ["State": powered ? (slot.status == .down ? "UnavailableOffline" : "Enabled") : "StandbyOffline"]
        status["Health"] = health(slot.status)
        document["Status"] = status
        document["Location"] = ["PartLocation": ["ServiceLabel": "Slot \(slot.slotID)", "LocationType": "Slot",
                                                 "LocationOrdinalValue": slot.slotID]]
        document["Sensors"] = link(path + "/Sensors")
        var links: Document = [:]
        if !customer { links["ContainedBy"] = link(root + "/Chassis/" + chassisID) }
        if let manager, !customer { links["ManagedBy"] = [link(root + "/Managers/" + manager)] }
        document["Links"] = links
        return document
    }

    // MARK: Sensors

    /// What Redfish calls a reading of our unit: its type and UCUM unit; nil: not a sensor.
    static func readingKind(_ unit: String) -> (type: String, units: String)? {
        switch unit {
        case "celsius": return ("Temperature", "Cel")
        case "volts": return ("Voltage", "V")
        case "amperes": return ("Current", "A")
        case "watts": return ("Power", "W")
        case "rpm": return ("Rotational", "RPM")
        case "percent": return ("Percent", "%")
        default: return nil
        }
    }

    /// A metric key as a Redfish Id (letters, digits, `-`, `_`, `.`).
    static func sensorID(_ key: String) -> String {
        String(key.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    /// The health sensors of a slot (or of the enclosure: its devices).
    static func sensors(of metrics: [MetricValue]) -> [MetricValue] {
        metrics.filter { $0.descriptor.metricClass == .health && readingKind($0.descriptor.unit) != nil }
    }

    static func sensorCollection(_ chassisPath: String, metrics: [MetricValue]) -> Document {
        collection(chassisPath + "/Sensors", type: "SensorCollection", name: "Sensors",
                   members: sensors(of: metrics).map { chassisPath + "/Sensors/" + sensorID($0.descriptor.key) })
    }

    static func sensor(_ chassisPath: String, metric: MetricValue) -> Document? {
        guard let kind = readingKind(metric.descriptor.unit) else { return nil }
        let id = sensorID(metric.descriptor.key)
        var document = resource(chassisPath + "/Sensors/" + id, type: "#Sensor.v1_12_0.Sensor", id: id, name: metric.descriptor.label)
        document["ReadingType"] = kind.type
        document["ReadingUnits"] = kind.units
        document["Reading"] = metric.value.map { $0 as Any } ?? NSNull()
        var status: Document = ["State": metric.fault == nil ? "Enabled" : "UnavailableOffline"]
        status["Health"] = health(metric.status)
        document["Status"] = status
        var thresholds: Document = [:]
        let limits = metric.thresholds
        for (name, value) in [("LowerCritical", limits.lowCritical), ("LowerCaution", limits.lowWarning),
                              ("UpperCaution", limits.highWarning), ("UpperCritical", limits.highCritical)] {
            if let value { thresholds[name] = ["Reading": value] }
        }
        if !thresholds.isEmpty { document["Thresholds"] = thresholds }
        document["PhysicalContext"] = physicalContext(metric.descriptor)
        return document
    }

    static func physicalContext(_ descriptor: MetricDescriptor) -> String {
        let component = descriptor.component.lowercased()
        if component.contains("power supply") || component.contains("power supplies") { return "PowerSupply" }
        if component.contains("fan") { return "Fan" }
        if component.contains("coretemp") || component.contains("cpu") { return "CPU" }
        if component.contains("midplane") { return "Backplane" }
        return descriptor.source == "chassis" ? "Chassis" : "SystemBoard"
    }

    // MARK: Power and cooling (the enclosure's devices)

    /// The enclosure's power supplies and fans, by number, from its metrics
    /// (`chassis.psu1.state`, `chassis.fan2.rpm` …).
    static func devices(_ metrics: [MetricValue], prefix: String, suffix: String) -> [(number: Int, metric: MetricValue)] {
        metrics.compactMap { metric in
            let key = metric.descriptor.key
            guard key.hasPrefix(prefix), key.hasSuffix(suffix),
                  let number = Int(key.dropFirst(prefix.count).dropLast(suffix.count)) else { return nil }
            return (number, metric)
        }.sorted { $0.number < $1.number }
    }

    static func powerSubsystem(_ snapshot: ChassisSnapshot) -> Document {
        let path = root + "/Chassis/" + snapshot.chassis.chassisID + "/PowerSubsystem"
        var document = resource(path, type: "#PowerSubsystem.v1_1_3.PowerSubsystem", id: "PowerSubsystem", name: "Power")
        let redundancy = snapshot.chassisMetrics.first { $0.descriptor.key == "chassis.power.redundancy" }
        document["Status"] = ["State": "Enabled", "Health": redundancy.map { health($0.status) } ?? "OK"]
        document["PowerSupplies"] = link(path + "/PowerSupplies")
        let supplies = devices(snapshot.chassisMetrics, prefix: "chassis.psu", suffix: ".state")
        if let redundancy, !supplies.isEmpty {
            document["PowerSupplyRedundancy"] = [[
                "RedundancyType": "NPlusM", "MaxSupportedInGroup": supplies.count, "MinNeededInGroup": max(1, supplies.count - 1),
                "RedundancyGroup": supplies.map { link(path + "/PowerSupplies/PSU\($0.number)") },
                "Status": ["State": "Enabled", "Health": (redundancy.value ?? 0) >= 0.5 ? "OK" : "Warning"],
            ] as Document]
        }
        return document
    }

    /// The enclosure's devices of one kind: where their collection is, its type, how a member is
    /// named, and which metric of each says it exists.
    struct DeviceKind: Equatable {
        var collection: String
        var type: String
        var name: String
        var member: String
        var prefix: String
        var suffix: String

        static let powerSupplies = DeviceKind(collection: "PowerSubsystem/PowerSupplies", type: "PowerSupplyCollection",
                                              name: "Power supplies", member: "PSU", prefix: "chassis.psu", suffix: ".state")
        static let fans = DeviceKind(collection: "ThermalSubsystem/Fans", type: "FanCollection", name: "Fans", member: "Fan",
                                     prefix: "chassis.fan", suffix: ".rpm")
    }

    static func deviceCollection(_ snapshot: ChassisSnapshot, _ kind: DeviceKind) -> Document {
        let path = root + "/Chassis/" + snapshot.chassis.chassisID + "/" + kind.collection
        return collection(path, type: kind.type, name: kind.name,
                          members: devices(snapshot.chassisMetrics, prefix: kind.prefix, suffix: kind.suffix).map { path + "/\(kind.member)\($0.number)" })
    }

    /// Device `number` of `kind`: its path and the metric that says it exists; nil if there is none.
    static func device(_ snapshot: ChassisSnapshot, _ kind: DeviceKind, number: Int) -> (path: String, metric: MetricValue)? {
        guard let metric = devices(snapshot.chassisMetrics, prefix: kind.prefix, suffix: kind.suffix).first(where: { $0.number == number })?.metric else {
            return nil
        }
        return (root + "/Chassis/" + snapshot.chassis.chassisID + "/" + kind.collection + "/\(kind.member)\(number)", metric)
    }

    static func powerSupply(_ snapshot: ChassisSnapshot, number: Int) -> Document? {
        guard let (path, state) = device(snapshot, .powerSupplies, number: number) else { return nil }
        var document = resource(path, type: "#PowerSupply.v1_6_0.PowerSupply", id: "PSU\(number)", name: "Power supply \(number)")
        let working = (state.value ?? 0) >= 0.5
        document["Status"] = ["State": state.fault == nil ? "Enabled" : "UnavailableOffline",
                              "Health": state.fault != nil ? "Warning" : working ? "OK" : "Critical"]
        document["Location"] = ["PartLocation": ["ServiceLabel": "PSU \(number)", "LocationType": "Bay", "LocationOrdinalValue": number]]
        return document
    }

    static func thermalSubsystem(_ snapshot: ChassisSnapshot) -> Document {
        let path = root + "/Chassis/" + snapshot.chassis.chassisID + "/ThermalSubsystem"
        var document = resource(path, type: "#ThermalSubsystem.v1_5_0.ThermalSubsystem", id: "ThermalSubsystem", name: "Cooling")
        let fans = devices(snapshot.chassisMetrics, prefix: "chassis.fan", suffix: ".rpm")
        document["Status"] = ["State": "Enabled", "Health": health(fans.map(\.metric.status).filter { $0 != .unknown }.max() ?? .ok)]
        document["Fans"] = link(path + "/Fans")
        return document
    }

    static func fan(_ snapshot: ChassisSnapshot, number: Int) -> Document? {
        guard let (path, metric) = device(snapshot, .fans, number: number) else { return nil }
        let chassisPath = root + "/Chassis/" + snapshot.chassis.chassisID
        var document = resource(path, type: "#Fan.v1_6_0.Fan", id: "Fan\(number)", name: metric.descriptor.label)
        document["Status"] = ["State": metric.fault == nil ? "Enabled" : "UnavailableOffline", "Health": health(metric.status)]
        var speed: Document = ["DataSourceUri": chassisPath + "/Sensors/" + sensorID(metric.descriptor.key)]
        if let rpm = metric.value { speed["SpeedRPM"] = rpm }
        document["SpeedPercent"] = speed
        document["Location"] = ["PartLocation": ["ServiceLabel": "Fan \(number)", "LocationType": "Bay", "LocationOrdinalValue": number]]
        return document
    }

    // MARK: Managers

    static func managerCollection(_ cluster: ClusterView) -> Document {
        collection(root + "/Managers", type: "ManagerCollection", name: "Managers",
                   members: cluster.members.filter { $0.slotID != nil }.map { root + "/Managers/" + $0.name })
    }

    /// A blade's manager: `Enabled` while it is the active manager, `StandbySpare` while it
    /// follows, `UnavailableOffline` when it is not heard from.
    static func manager(_ member: ClusterMember, chassisID: String, product: String) -> Document {
        var document = resource(root + "/Managers/" + member.name, type: "#Manager.v1_24_0.Manager", id: member.name,
                                name: "Chassis Manager on \(member.name)")
        document["ManagerType"] = "EnclosureManager"
        document["Description"] = "\(member.role.rawValue) (\(member.address))"
        document["FirmwareVersion"] = product
        let state: String
        switch member.role {
        case .active: state = "Enabled"
        case .standby, .candidate: state = "StandbySpare"
        default: state = "UnavailableOffline"
        }
        document["Status"] = ["State": state, "Health": member.role == .down ? "Warning" : "OK"]
        var links: Document = ["ManagerForChassis": [link(root + "/Chassis/" + chassisID)]]
        if let slot = member.slotID { links["ManagerInChassis"] = link(root + "/Chassis/" + bladeID(slot)) }
        document["Links"] = links
        return document
    }

    // MARK: Sessions and accounts

    static func sessionService(timeoutSeconds: Int) -> Document {
        var document = resource(root + "/SessionService", type: "#SessionService.v1_2_0.SessionService", id: "SessionService",
                                name: "Sessions")
        document["ServiceEnabled"] = true
        document["SessionTimeout"] = min(86_400, max(30, timeoutSeconds))
        document["Sessions"] = link(root + "/SessionService/Sessions")
        document["Status"] = ["State": "Enabled", "Health": "OK"]
        return document
    }

    static func session(id: String, user: String) -> Document {
        var document = resource(root + "/SessionService/Sessions/" + id, type: "#Session.v1_8_0.Session", id: id, name: "Session of \(user)")
        document["UserName"] = user
        return document
    }

    static func accountService() -> Document {
        var document = resource(root + "/AccountService", type: "#AccountService.v1_18_1.AccountService", id: "AccountService",
                                name: "Accounts")
        document["ServiceEnabled"] = true
        document["Accounts"] = link(root + "/AccountService/Accounts")
        document["Status"] = ["State": "Enabled", "Health": "OK"]
        return document
    }

    /// The product's roles as Redfish's predefined ones; a customer is a read-only account
    /// confined to its slots.
    static func roleID(_ role: Role) -> String {
        switch role {
        case .admin: return "Administrator"
        case .operator: return "Operator"
        case .viewer, .customer: return "ReadOnly"
        }
    }

    static func account(_ user: UserRecord, locked: Bool) -> Document {
        var document = resource(root + "/AccountService/Accounts/" + user.name, type: "#ManagerAccount.v1_14_1.ManagerAccount",
                                id: user.name, name: "Account \(user.name)")
        document["UserName"] = user.name
        document["RoleId"] = roleID(user.role)
        document["Enabled"] = true
        document["Locked"] = locked
        document["Password"] = NSNull()
        document["AccountTypes"] = ["Redfish", "WebUI"]
        if user.role == .customer { document["Description"] = "customer: slots \(user.scope?.text ?? "")" }
        return document
    }
}
