import Model
import Plumbing

/// Cumulative counters of one interface from `/proc/net/dev`.
public struct InterfaceCounters: Sendable, Equatable {
    public var interface: String
    public var receiveBytes: UInt64
    public var receiveErrors: UInt64
    public var transmitBytes: UInt64
    public var transmitErrors: UInt64

    public init(interface: String, receiveBytes: UInt64, receiveErrors: UInt64,
                transmitBytes: UInt64, transmitErrors: UInt64) {
        self.interface = interface
        self.receiveBytes = receiveBytes
        self.receiveErrors = receiveErrors
        self.transmitBytes = transmitBytes
        self.transmitErrors = transmitErrors
    }
}

/// Parses `/proc/net/dev`: two header lines, then `name: 16 counters` per interface. The name
/// is split at the colon, not at whitespace, because a large counter touches it
/// (`eth0:1234567890 ...`). Lines without a colon or with fewer than 16 numbers are skipped.
public func parseNetDev(_ bytes: UnsafeBufferPointer<UInt8>) -> [InterfaceCounters] {
    var result: [InterfaceCounters] = []
    var fields = [Range<Int>](repeating: 0..<0, count: 16)
    ByteParsing.forEachLine(bytes) { line in
        var colon = line.lowerBound
        while colon < line.upperBound && bytes[colon] != 0x3A { colon += 1 }
        guard colon < line.upperBound else { return }
        let name = ByteParsing.trimmed(bytes, line.lowerBound..<colon)
        guard !name.isEmpty,
              ByteParsing.split(bytes, (colon + 1)..<line.upperBound, into: &fields) >= 16,
              let receiveBytes = ByteParsing.unsigned(bytes, fields[0]),
              let receiveErrors = ByteParsing.unsigned(bytes, fields[2]),
              let transmitBytes = ByteParsing.unsigned(bytes, fields[8]),
              let transmitErrors = ByteParsing.unsigned(bytes, fields[10]) else { return }
        result.append(InterfaceCounters(interface: ByteParsing.string(bytes, name),
                                        receiveBytes: receiveBytes, receiveErrors: receiveErrors,
                                        transmitBytes: transmitBytes, transmitErrors: transmitErrors))
    }
    return result
}

public func parseNetDev(_ text: String) -> [InterfaceCounters] {
    ByteParsing.withBytes(of: text) { parseNetDev($0) }
}

/// Receive and transmit throughput and error rates per interface (loopback excluded), from
/// `/proc/net/dev` deltas. The first call records the counters and returns no readings.
///
/// The rates are the product's own series (`chassis_network_*_per_second`, replicated, charted);
/// node_exporter's raw counters (`node_network_receive_bytes_total` …) are exported beside them,
/// local to the blade, for Prometheus to take its own rates of.
public final class NetworkCollector: Collector {
    public let name = "proc.netdev"
    public let group = SamplingGroup.network
    public let procRoot: String
    private let path: String
    private let clock: () -> Double
    private let reader = BoundedFileReader(maximumBytes: 256 * 1024)
    private var previous: (time: Double, counters: [String: InterfaceCounters])?
    private var descriptors = DescriptorCache()

    public init(procRoot: String = "/proc", clock: @escaping () -> Double = HostClock.system.monotonicSeconds) {
        self.procRoot = procRoot
        self.path = procRoot + "/net/dev"
        self.clock = clock
    }

    public func collect() throws -> [Reading] {
        let counters = try reader.withContents(of: path) { parseNetDev($0) }
        return readings(counters, at: clock())
    }

    /// Feeds one snapshot taken at `time` (seconds) and returns rates against the previous one.
    /// A counter that went backwards (interface recreated, 32-bit wrap) yields no rate this time.
    public func readings(_ counters: [InterfaceCounters], at time: Double) -> [Reading] {
        var current: [String: InterfaceCounters] = [:]
        current.reserveCapacity(counters.count)
        for counter in counters where counter.interface != "lo" { current[counter.interface] = counter }
        defer { previous = (time, current) }
        var result: [Reading] = []
        // node_exporter's counters, local to the blade, from this read alone.
        for counter in counters where current[counter.interface] != nil {
            for (suffix, label, unit, prometheusName, value) in [
                ("rx_bytes_total", "Received", "bytes", "node_network_receive_bytes_total", counter.receiveBytes),
                ("tx_bytes_total", "Transmitted", "bytes", "node_network_transmit_bytes_total", counter.transmitBytes),
                ("rx_errors_total", "Receive errors", "count", "node_network_receive_errs_total", counter.receiveErrors),
                ("tx_errors_total", "Transmit errors", "count", "node_network_transmit_errs_total", counter.transmitErrors),
            ] {
                result.append(Reading(descriptor: descriptor(counter.interface, suffix, label, unit, prometheusName, counter: true),
                                      value: Double(value)))
            }
        }
        guard let previous, time > previous.time else { return result }
        let seconds = time - previous.time
        for counter in counters {
            guard let now = current[counter.interface], let before = previous.counters[counter.interface] else { continue }
            func rate(_ a: UInt64, _ b: UInt64) -> Double? { a >= b ? Double(a - b) / seconds : nil }
            let values: [(String, String, String, String, Double?)] = [
                ("rx_bytes_per_second", "Receive", "bytes_per_second",
                 "chassis_network_receive_bytes_per_second", rate(now.receiveBytes, before.receiveBytes)),
                ("tx_bytes_per_second", "Transmit", "bytes_per_second",
                 "chassis_network_transmit_bytes_per_second", rate(now.transmitBytes, before.transmitBytes)),
                ("rx_errors_per_second", "Receive errors", "per_second",
                 "chassis_network_receive_errors_per_second", rate(now.receiveErrors, before.receiveErrors)),
                ("tx_errors_per_second", "Transmit errors", "per_second",
                 "chassis_network_transmit_errors_per_second", rate(now.transmitErrors, before.transmitErrors)),
            ]
            for (suffix, label, unit, prometheusName, value) in values {
                guard let value else { continue }
                let descriptor = descriptor(counter.interface, suffix, label, unit, prometheusName)
                result.append(Reading(descriptor: descriptor, value: value))
            }
        }
        return result
    }

    private func descriptor(_ interface: String, _ suffix: String, _ label: String, _ unit: String,
                            _ prometheusName: String, counter: Bool = false) -> MetricDescriptor {
        let key = "network.\(interface).\(suffix)"
        return descriptors.descriptor(key) {
            Descriptors.performance(key: key, label: "\(label) \(interface)", unit: unit, source: name,
                                    group: group, component: counter ? MetricDescriptor.countersComponent : "network \(interface)",
                                    prometheusName: prometheusName, labels: ["device": interface],
                                    replication: counter ? .local : .dynamic)
        }
    }
}
