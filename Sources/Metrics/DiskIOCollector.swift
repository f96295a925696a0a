import Model
import Plumbing

/// Cumulative counters of one block device from `/proc/diskstats`.
public struct DiskCounters: Sendable, Equatable {
    public var device: String
    /// Sectors are always 512 bytes in `/proc/diskstats`, whatever the device's real sector size.
    public var sectorsRead: UInt64
    public var sectorsWritten: UInt64
    /// Milliseconds spent doing IO (field 10): its rate is the device's busy share.
    public var ioMilliseconds: UInt64

    public init(device: String, sectorsRead: UInt64, sectorsWritten: UInt64, ioMilliseconds: UInt64) {
        self.device = device
        self.sectorsRead = sectorsRead
        self.sectorsWritten = sectorsWritten
        self.ioMilliseconds = ioMilliseconds
    }
}

/// Which block devices are worth reporting: whole disks, not partitions, loop, RAM or floppy
/// devices (node_exporter's default exclusion, without a regular expression).
public enum DiskFilter {
    public static func keeps(_ device: String) -> Bool {
        let name = Array(device.utf8)
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        func isLetter(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7A }
        func hasPrefix(_ prefix: String) -> Bool { device.hasPrefix(prefix) }
        if name.isEmpty { return false }
        for prefix in ["loop", "ram", "zram", "fd"] where hasPrefix(prefix) { return false }
        // nvme0n1p2, mmcblk0p1: a partition is "p" and digits after a name ending in a digit.
        if let lastLetter = name.lastIndex(where: { !isDigit($0) }), lastLetter < name.count - 1,
           name[lastLetter] == 0x70 /* p */, lastLetter > 0, isDigit(name[lastLetter - 1]) {
            return false
        }
        // sda1, vdb2, hdc3, xvda1: letters after the sd/vd/hd/xvd prefix, then digits.
        for prefix in ["sd", "vd", "hd", "xvd"] where hasPrefix(prefix) {
            var index = prefix.utf8.count
            while index < name.count && isLetter(name[index]) { index += 1 }
            if index < name.count && isDigit(name[index]) { return false }
        }
        return true
    }
}

/// Parses `/proc/diskstats`: major, minor, name, then at least 11 counters. Lines with fewer
/// fields or non-numeric counters are skipped.
public func parseDiskstats(_ bytes: UnsafeBufferPointer<UInt8>) -> [DiskCounters] {
    var result: [DiskCounters] = []
    var fields = [Range<Int>](repeating: 0..<0, count: 14)
    ByteParsing.forEachLine(bytes) { line in
        guard ByteParsing.split(bytes, line, into: &fields) >= 14,
              let read = ByteParsing.unsigned(bytes, fields[5]),
              let written = ByteParsing.unsigned(bytes, fields[9]),
              let io = ByteParsing.unsigned(bytes, fields[12]) else { return }
        result.append(DiskCounters(device: ByteParsing.string(bytes, fields[2]),
                                   sectorsRead: read, sectorsWritten: written, ioMilliseconds: io))
    }
    return result
}

public func parseDiskstats(_ text: String) -> [DiskCounters] {
    ByteParsing.withBytes(of: text) { parseDiskstats($0) }
}

/// Read and write throughput and busy share per disk, from `/proc/diskstats` deltas.
/// The first call records the counters and returns no readings.
public final class DiskIOCollector: Collector {
    public let name = "proc.diskstats"
    public let group = SamplingGroup.disk
    public let procRoot: String
    private let path: String
    private let clock: () -> Double
    private let reader = BoundedFileReader(maximumBytes: 256 * 1024)
    private var previous: (time: Double, counters: [String: DiskCounters])?
    private var descriptors = DescriptorCache()

    public init(procRoot: String = "/proc", clock: @escaping () -> Double = HostClock.system.monotonicSeconds) {
        self.procRoot = procRoot
        self.path = procRoot + "/diskstats"
        self.clock = clock
    }

    public func collect() throws -> [Reading] {
        let counters = try reader.withContents(of: path) { parseDiskstats($0) }
        return readings(counters, at: clock())
    }

    /// Feeds one snapshot taken at `time` (seconds) and returns rates against the previous one.
    public func readings(_ counters: [DiskCounters], at time: Double) -> [Reading] {
        var current: [String: DiskCounters] = [:]
        current.reserveCapacity(counters.count)
        for disk in counters where DiskFilter.keeps(disk.device) { current[disk.device] = disk }
        defer { previous = (time, current) }
        var result: [Reading] = []
        // node_exporter's counters, local to the blade, from this read alone.
        for disk in counters where current[disk.device] != nil {
            for (suffix, label, unit, prometheusName, value) in [
                ("read_bytes_total", "Read", "bytes", "node_disk_read_bytes_total", Double(disk.sectorsRead) * 512),
                ("written_bytes_total", "Written", "bytes", "node_disk_written_bytes_total", Double(disk.sectorsWritten) * 512),
                ("io_time_seconds_total", "Time doing IO", "seconds", "node_disk_io_time_seconds_total",
                 Double(disk.ioMilliseconds) / 1000),
            ] {
                result.append(Reading(descriptor: descriptor(disk.device, suffix, label, unit, prometheusName, counter: true),
                                      value: value))
            }
        }
        guard let previous, time > previous.time else { return result }
        let seconds = time - previous.time
        for disk in counters {
            guard let now = current[disk.device], let before = previous.counters[disk.device],
                  now.sectorsRead >= before.sectorsRead, now.sectorsWritten >= before.sectorsWritten,
                  now.ioMilliseconds >= before.ioMilliseconds else { continue }
            let read = Double(now.sectorsRead - before.sectorsRead) * 512 / seconds
            let written = Double(now.sectorsWritten - before.sectorsWritten) * 512 / seconds
            let busy = min(100, Double(now.ioMilliseconds - before.ioMilliseconds) / (seconds * 1000) * 100)
            result.append(Reading(descriptor: descriptor(disk.device, "read_bytes_per_second", "Read",
                                                         "bytes_per_second", "chassis_disk_read_bytes_per_second"),
                                  value: read))
            result.append(Reading(descriptor: descriptor(disk.device, "write_bytes_per_second", "Write",
                                                         "bytes_per_second", "chassis_disk_written_bytes_per_second"),
                                  value: written))
            result.append(Reading(descriptor: descriptor(disk.device, "busy_percent", "Busy",
                                                         "percent", "chassis_disk_io_busy_ratio"),
                                  value: busy))
        }
        return result
    }

    private func descriptor(_ device: String, _ suffix: String, _ label: String, _ unit: String,
                            _ prometheusName: String, counter: Bool = false) -> MetricDescriptor {
        let key = "disk.\(device).\(suffix)"
        return descriptors.descriptor(key) {
            Descriptors.performance(key: key, label: "\(label) \(device)", unit: unit, source: name,
                                    group: group, component: counter ? MetricDescriptor.countersComponent : "disk \(device)",
                                    prometheusName: prometheusName, labels: ["device": device],
                                    replication: counter ? .local : .dynamic)
        }
    }
}
