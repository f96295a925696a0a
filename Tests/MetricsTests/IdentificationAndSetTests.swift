import Foundation
import Testing
import Model
@testable import Metrics

@Suite("Identification")
struct IdentificationTests {
    func tree() -> TemporaryDirectory {
        let root = TemporaryDirectory("classroot")
        root.write("dmi/id/product_serial", "SN-123  \n")
        root.write("dmi/id/product_name", "To be filled by O.E.M.\n")
        root.write("dmi/id/board_name", "X11DPi\n")
        root.write("dmi/id/product_version", "\n")
        root.write("dmi/id/sys_vendor", "Supermicro\n")
        root.write("net/lo/address", "00:00:00:00:00:00\n")
        root.write("net/eth0/address", "52:54:00:AB:CD:EF\n")
        root.write("net/dummy0/address", "00:00:00:00:00:00\n")
        root.write("net/tun0/address", "\n")
        root.write("net/eth1/address", "02:00:00:00:00:01\n")
        return root
    }

    @Test func dmiWhereMeaningfulElseConfiguration() throws {
        let root = tree()
        defer { root.remove() }
        let collector = IdentificationCollector(chassisID: " 660007770088 ", slotID: "3", classRoot: root.path,
                                                configured: ConfiguredIdentity(serial: "CFG-SN", revision: "B2"))
        let readings = try collector.collect()
        let text = Dictionary(uniqueKeysWithValues: readings.map { ($0.descriptor.key, $0.text) })
        #expect(text == ["id.chassis_id": "660007770088", "id.slot_id": "3", "id.serial": "SN-123",
                         "id.model": "X11DPi", "id.revision": "B2", "id.manufacturer": "Supermicro",
                         "id.mac.eth0": "52:54:00:ab:cd:ef", "id.mac.eth1": "02:00:00:00:00:01"])
        for reading in readings {
            #expect(reading.descriptor.unit == "text")
            #expect(reading.descriptor.metricClass == .identification)
            #expect(reading.descriptor.replication == .static)
            #expect(reading.descriptor.group == .identification)
        }
    }

    @Test func preferConfiguredAndMissingValues() throws {
        let root = tree()
        defer { root.remove() }
        let collector = IdentificationCollector(chassisID: "C1", slotID: "", classRoot: root.path,
                                                configured: ConfiguredIdentity(serial: "CFG-SN"),
                                                preferConfigured: true)
        let readings = Dictionary(uniqueKeysWithValues: try collector.collect().map { ($0.descriptor.key, $0) })
        #expect(readings["id.serial"]?.text == "CFG-SN")
        #expect(readings["id.slot_id"]?.fault != nil)
        #expect(readings["id.revision"]?.fault != nil)
    }

    @Test func noDMIAtAll() throws {
        let collector = IdentificationCollector(chassisID: "C1", slotID: "1", classRoot: "/nonexistent",
                                                configured: ConfiguredIdentity(serial: "S", model: "M", revision: "R",
                                                                               manufacturer: "V"))
        let readings = try collector.collect()
        #expect(readings.count == 6)
        #expect(readings.allSatisfy { $0.text != nil })
    }

    @Test(arguments: [("To be filled by O.E.M.", nil as String?), ("  Dell Inc. \n", "Dell Inc."), ("", nil),
                      ("Default string", nil), ("R720", "R720")])
    func dmiCleaning(raw: String, expected: String?) {
        #expect(cleanDMIValue(raw) == expected)
    }

    @Test(arguments: [("52:54:00:AB:CD:EF\n", "52:54:00:ab:cd:ef" as String?), ("00:00:00:00:00:00", nil),
                      ("", nil), ("zz:zz:zz:zz:zz:zz", nil), ("52:54:00", nil)])
    func macParsing(raw: String, expected: String?) {
        #expect(parseMACAddress(raw) == expected)
    }

    /// Found by the collectors fuzz target's check that an address is groups of two ASCII hex
    /// digits: Character's isHexDigit also takes fullwidth digits and letters, and splitting at
    /// `:` dropped empty groups, so `3c:ec:ef:12:34::56` was an address.
    @Test func macAddressGroupsAreTwoASCIIHexDigits() {
        #expect(parseMACAddress("\u{FF10}\u{FF21}:11:22:33:44:55\n") == nil)
        #expect(parseMACAddress("3c:ec:ef:12:34::56\n") == nil)
        #expect(parseMACAddress(":3c:ec:ef:12:34:56") == nil)
        #expect(parseMACAddress("3c:ec:ef:12:34:56:") == nil)
        #expect(parseMACAddress("0A:11:22:33:44:55\n") == "0a:11:22:33:44:55")
    }
}

@Suite("Collector set")
struct CollectorSetTests {
    final class Fixed: Collector {
        let name: String
        let group: SamplingGroup
        let fails: Bool
        init(name: String, group: SamplingGroup, fails: Bool) {
            self.name = name
            self.group = group
            self.fails = fails
        }
        func collect() throws -> [Reading] {
            struct Broken: Error {}
            if fails { throw Broken() }
            let descriptor = MetricDescriptor(key: "\(name).value", label: name, metricClass: .performance, unit: "ratio",
                                              source: name, replication: .dynamic, group: group, component: "x",
                                              prometheusName: "x")
            return [Reading(descriptor: descriptor, value: 1)]
        }
    }

    @Test func reportsDurationAndSuccessPerCollector() {
        var now = 100.0
        let set = CollectorSet(collectors: [Fixed(name: "good", group: .cpu, fails: false),
                                            Fixed(name: "bad", group: .cpu, fails: true),
                                            Fixed(name: "other", group: .disk, fails: false)],
                               clock: { now += 0.25; return now })
        #expect(set.groups == [.cpu, .disk])
        let sample = set.sample(.cpu)
        #expect(sample.outcomes.map(\.collector) == ["good", "bad"])
        #expect(sample.outcomes.map(\.succeeded) == [true, false])
        #expect(sample.outcomes[1].error != nil)
        let values = Dictionary(uniqueKeysWithValues: sample.readings.map { ($0.descriptor.key, $0.value!) })
        #expect(values == ["good.value": 1, "collector.good.duration_seconds": 0.25, "collector.good.success": 1,
                           "collector.bad.duration_seconds": 0.25, "collector.bad.success": 0])
        let success = sample.readings.first { $0.descriptor.key == "collector.bad.success" }!.descriptor
        #expect(success.prometheusName == "chassis_collector_success")
        #expect(success.prometheusLabels == ["collector": "bad"])
        #expect(success.replication == .local)
    }

    @Test func defaultSetAgainstFixtureRoot() throws {
        let proc = fixtureProcRoot()
        defer { proc.remove() }
        let settings = CollectorSettings(procRoot: proc.path, sysRoot: "/nonexistent", chassisID: "660007770088",
                                         slotID: "2", configuredIdentity: ConfiguredIdentity(serial: "S1"),
                                         sensorsEnabled: false)
        var now = 0.0
        let set = CollectorSet(settings: settings, clock: { now += 1; return now })
        #expect(set.setupErrors.isEmpty)
        #expect(set.groups == [.cpu, .memory, .disk, .network, .system, .identification])
        #expect(set.sample(.cpu).readings.filter { !$0.descriptor.key.hasPrefix("collector.") && !$0.descriptor.isCounter }.isEmpty)
        proc.write("stat", Fixture.text("proc_stat_2.txt"))
        let cpu = set.sample(.cpu).readings.map(\.descriptor.key)
        #expect(cpu.contains("cpu.total.utilisation"))
        #expect(cpu.contains("collector.proc.cpu.success"))
        let memory = set.sample(.memory).readings.map(\.descriptor.key)
        // The fixture's blade has no swap: none is charted.
        #expect(memory.contains("memory.used_percent") && !memory.contains { $0.hasPrefix("swap.") })
        let system = Dictionary(uniqueKeysWithValues: set.sample(.system).readings.map { ($0.descriptor.key, $0.value) })
        #expect(system["load.1m"] == 0.04)
        #expect(system["system.uptime_seconds"] == 260.64)
        let identification = set.sample(.identification).readings
        #expect(identification.first { $0.descriptor.key == "id.serial" }?.text == "S1")
        // Disk and network need two samples for a rate.
        _ = set.sample(.disk)
        _ = set.sample(.network)
        #expect(set.sample(.network).readings.contains { $0.descriptor.key == "network.eth0.rx_bytes_per_second" })
        #expect(set.sample(.disk).readings.contains { $0.descriptor.key == "disk.vda.read_bytes_per_second" })
    }

    @Test func realProcOnThisMachine() throws {
        let set = CollectorSet(settings: CollectorSettings(chassisID: "C", slotID: "1", sensorsEnabled: false))
        for group in set.groups { _ = set.sample(group) }
        for group in set.groups {
            let sample = set.sample(group)
            #expect(sample.outcomes.allSatisfy { $0.succeeded }, "group \(group): \(sample.outcomes)")
        }
        usleep(200_000)  // let the tick counters move
        let cpu = set.sample(.cpu).readings
        #expect(cpu.contains { $0.descriptor.key == "cpu.total.utilisation" && $0.value != nil })
    }

    @Test func failedSensorsLibraryIsAFailingCollector() {
        let settings = CollectorSettings(chassisID: "C", slotID: "1", sensorsConfigPath: "/nonexistent/sensors.conf")
        let set = CollectorSet(settings: settings)
        #expect(set.setupErrors.count == 1)
        let sample = set.sample(.sensors)
        #expect(sample.outcomes.map(\.collector) == ["libsensors"])
        #expect(sample.outcomes[0].succeeded == false)
    }
}
