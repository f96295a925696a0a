#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Model

/// Identity values that come from configuration (or a simulated blade) rather than hardware.
public struct ConfiguredIdentity: Sendable, Equatable {
    public var serial: String?
    public var model: String?
    public var revision: String?
    public var manufacturer: String?

    public init(serial: String? = nil, model: String? = nil, revision: String? = nil, manufacturer: String? = nil) {
        self.serial = serial
        self.model = model
        self.revision = revision
        self.manufacturer = manufacturer
    }
}

/// Cleans a DMI value: trims it and drops the placeholders firmware vendors leave in unset
/// fields ("To be filled by O.E.M.", "Default string", "Not Specified", ...). Nil when nothing is left.
public func cleanDMIValue(_ raw: String) -> String? {
    var text = Substring(raw)
    while let first = text.first, first.isWhitespace || first == "\0" { text.removeFirst() }
    while let last = text.last, last.isWhitespace || last == "\0" { text.removeLast() }
    if text.isEmpty { return nil }
    let placeholders: Set<String> = [
        "to be filled by o.e.m.", "default string", "not specified", "not applicable", "none", "n/a",
        "system serial number", "system product name", "system version", "system manufacturer",
        "0123456789", "00000000", "unknown", "o.e.m.", "oem",
    ]
    if placeholders.contains(text.lowercased()) { return nil }
    return String(text)
}

/// Trims whitespace; nil when nothing is left. Configured values are taken as given otherwise.
func trimmedNonEmpty(_ raw: String) -> String? {
    var text = Substring(raw)
    while let first = text.first, first.isWhitespace { text.removeFirst() }
    while let last = text.last, last.isWhitespace { text.removeLast() }
    return text.isEmpty ? nil : String(text)
}

/// Parses a MAC address file; nil for an empty or all-zero address (loopback, tunnels). Every
/// group is two ASCII hex digits (Character.isHexDigit takes fullwidth ones too; `::` is no group).
public func parseMACAddress(_ raw: String) -> String? {
    guard let value = cleanDMIValue(raw)?.lowercased() else { return nil }
    let parts = value.split(separator: ":", omittingEmptySubsequences: false)
    func isHexDigit(_ byte: UInt8) -> Bool { (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) }
    guard parts.count >= 6, parts.allSatisfy({ $0.utf8.count == 2 && $0.utf8.allSatisfy(isHexDigit) }) else { return nil }
    if parts.allSatisfy({ $0 == "00" }) { return nil }
    return value
}

/// Identification: chassis and slot IDs (from configuration), serial, model, revision and
/// manufacturer (from DMI where present and meaningful, else from configuration), and the MAC
/// address of every interface but loopback.
///
/// Readings carry `text`, unit `text`, class identification and static replication. A value
/// found nowhere is a fault reading, so the UI shows "unknown" rather than dropping the row.
public final class IdentificationCollector: Collector {
    public let name = "dmi"
    public let group = SamplingGroup.identification
    public let chassisID: String
    public let slotID: String
    /// The directory holding `dmi/id` and `net`: `/sys/class`, or a simulated blade's `class`.
    public let classRoot: String
    public let configured: ConfiguredIdentity
    /// Take configured values before DMI, as a simulated blade on a real host must.
    public let preferConfigured: Bool
    /// A bound on interfaces, so that a host with thousands of virtual interfaces stays cheap.
    public static let interfacesMax = 64
    private let reader = BoundedFileReader(maximumBytes: 4 * 1024)

    public init(chassisID: String, slotID: String, sysRoot: String = "/sys", classRoot: String? = nil,
                configured: ConfiguredIdentity = ConfiguredIdentity(), preferConfigured: Bool = false) {
        self.chassisID = chassisID
        self.slotID = slotID
        self.classRoot = classRoot ?? sysRoot + "/class"
        self.configured = configured
        self.preferConfigured = preferConfigured
    }

    public func collect() throws -> [Reading] {
        var readings = [
            reading("chassis_id", "Chassis ID", "chassis", trimmedNonEmpty(chassisID)),
            reading("slot_id", "Slot ID", "slot", trimmedNonEmpty(slotID)),
            reading("serial", "Serial number", "module",
                    pick(configured.serial, dmi("product_serial") ?? dmi("board_serial"))),
            reading("model", "Model", "module", pick(configured.model, dmi("product_name") ?? dmi("board_name"))),
            reading("revision", "Revision", "module", pick(configured.revision, dmi("product_version"))),
            reading("manufacturer", "Manufacturer", "module",
                    pick(configured.manufacturer, dmi("sys_vendor") ?? dmi("board_vendor"))),
        ]
        for (interface, address) in macAddresses() {
            readings.append(reading("mac.\(interface)", "MAC address \(interface)", "network \(interface)", address,
                                    labels: ["field": "mac", "device": interface]))
        }
        return readings
    }

    private func pick(_ configuredValue: String?, _ hardwareValue: @autoclosure () -> String?) -> String? {
        let configuredClean = configuredValue.flatMap(trimmedNonEmpty)
        if preferConfigured, let configuredClean { return configuredClean }
        return hardwareValue() ?? configuredClean
    }

    private func dmi(_ file: String) -> String? {
        guard let raw = try? reader.string(at: "\(classRoot)/dmi/id/\(file)") else { return nil }
        return cleanDMIValue(raw)
    }

    /// Interfaces with a real MAC address, sorted by name.
    func macAddresses() -> [(String, String)] {
        let netDirectory = classRoot + "/net"
        guard let handle = opendir(netDirectory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle), names.count < Self.interfacesMax * 4 {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." || name == "lo" { continue }
            names.append(name)
        }
        var result: [(String, String)] = []
        for name in names.sorted() {
            guard result.count < Self.interfacesMax,
                  let raw = try? reader.string(at: "\(netDirectory)/\(name)/address"),
                  let address = parseMACAddress(raw) else { continue }
            result.append((name, address))
        }
        return result
    }

    private func reading(_ suffix: String, _ label: String, _ component: String, _ text: String?,
                         labels: [String: String]? = nil) -> Reading {
        let descriptor = MetricDescriptor(
            key: "id.\(suffix)", label: label, metricClass: .identification, unit: "text", source: name,
            replication: .static, group: .identification, component: component,
            // Text has no Prometheus sample value; exporters render it as an info metric
            // (`chassis_identification_info{field="serial",value="..."} 1`).
            prometheusName: "chassis_identification_info", prometheusLabels: labels ?? ["field": suffix])
        if let text { return Reading(descriptor: descriptor, text: text) }
        return Reading(descriptor: descriptor, fault: "not available from DMI or configuration")
    }
}
