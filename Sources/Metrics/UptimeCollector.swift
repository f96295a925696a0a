import Model

/// Parses `/proc/uptime` (`257.02 459.75`): seconds since boot, the first field (the file's
/// final newline ends it when it is the only one).
public func parseUptime(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
    var fields = [Range<Int>](repeating: 0..<0, count: 2)
    guard ByteParsing.split(bytes, ByteParsing.trimmed(bytes, 0..<bytes.count), into: &fields) >= 1,
          let seconds = ByteParsing.decimal(bytes, fields[0]), seconds >= 0 else { return nil }
    return seconds
}

public func parseUptime(_ text: String) -> Double? {
    ByteParsing.withBytes(of: text) { parseUptime($0) }
}

/// Seconds since boot (`system.uptime_seconds`). node_exporter has only `node_boot_time_seconds`
/// (a timestamp); an uptime is what an operator reads, so it is exported as
/// `chassis_uptime_seconds`.
public final class UptimeCollector: Collector {
    public let name = "proc.uptime"
    public let group = SamplingGroup.system
    public let procRoot: String
    private let path: String
    private let reader = BoundedFileReader(maximumBytes: 1024)
    private let descriptor: MetricDescriptor

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
        self.path = procRoot + "/uptime"
        self.descriptor = Descriptors.performance(key: "system.uptime_seconds", label: "Uptime", unit: "seconds",
                                                  source: "proc.uptime", group: .system, component: "system",
                                                  prometheusName: "chassis_uptime_seconds")
    }

    public func collect() throws -> [Reading] {
        let seconds = try reader.withContents(of: path) { parseUptime($0) }
        if let seconds { return [Reading(descriptor: descriptor, value: seconds)] }
        return [Reading(descriptor: descriptor, fault: "unparsable \(path)")]
    }
}
