import Model

/// The three load averages of `/proc/loadavg`.
public struct LoadAverage: Sendable, Equatable {
    public var oneMinute: Double
    public var fiveMinutes: Double
    public var fifteenMinutes: Double

    public init(oneMinute: Double, fiveMinutes: Double, fifteenMinutes: Double) {
        self.oneMinute = oneMinute
        self.fiveMinutes = fiveMinutes
        self.fifteenMinutes = fifteenMinutes
    }
}

/// Parses `/proc/loadavg` (`0.21 0.37 0.39 1/719 19737`); nil unless the first three fields are numbers.
/// The file's final newline ends the last field (`1 2 3\n` has three).
public func parseLoadAverage(_ bytes: UnsafeBufferPointer<UInt8>) -> LoadAverage? {
    var fields = [Range<Int>](repeating: 0..<0, count: 3)
    guard ByteParsing.split(bytes, ByteParsing.trimmed(bytes, 0..<bytes.count), into: &fields) >= 3,
          let one = ByteParsing.decimal(bytes, fields[0]),
          let five = ByteParsing.decimal(bytes, fields[1]),
          let fifteen = ByteParsing.decimal(bytes, fields[2]) else { return nil }
    return LoadAverage(oneMinute: one, fiveMinutes: five, fifteenMinutes: fifteen)
}

public func parseLoadAverage(_ text: String) -> LoadAverage? {
    ByteParsing.withBytes(of: text) { parseLoadAverage($0) }
}

/// Load averages over 1, 5 and 15 minutes (`load.1m`, `load.5m`, `load.15m`), named as
/// node_exporter's `node_load1`, `node_load5`, `node_load15`.
public final class LoadAverageCollector: Collector {
    public let name = "proc.loadavg"
    public let group = SamplingGroup.system
    public let procRoot: String
    private let path: String
    private let reader = BoundedFileReader(maximumBytes: 4 * 1024)
    private let descriptors: [MetricDescriptor]

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
        self.path = procRoot + "/loadavg"
        let source = name
        self.descriptors = [("1m", "1", "1 minute"), ("5m", "5", "5 minutes"), ("15m", "15", "15 minutes")].map {
            Descriptors.performance(key: "load.\($0.0)", label: "Load average \($0.2)", unit: "ratio",
                                    source: source, group: .system, component: "system",
                                    prometheusName: "node_load\($0.1)")
        }
    }

    public func collect() throws -> [Reading] {
        readings(try reader.withContents(of: path) { parseLoadAverage($0) })
    }

    public func readings(_ load: LoadAverage?) -> [Reading] {
        guard let load else {
            return descriptors.map { Reading(descriptor: $0, fault: "unparsable \(path)") }
        }
        return [Reading(descriptor: descriptors[0], value: load.oneMinute),
                Reading(descriptor: descriptors[1], value: load.fiveMinutes),
                Reading(descriptor: descriptors[2], value: load.fifteenMinutes)]
    }
}
