#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Model

/// Cumulative CPU time of one `cpu` line of `/proc/stat`, in clock ticks.
public struct CPUTimes: Sendable, Equatable {
    public var user: UInt64
    public var nice: UInt64
    public var system: UInt64
    public var idle: UInt64
    public var iowait: UInt64
    public var irq: UInt64
    public var softirq: UInt64
    public var steal: UInt64

    public init(user: UInt64 = 0, nice: UInt64 = 0, system: UInt64 = 0, idle: UInt64 = 0, iowait: UInt64 = 0,
                irq: UInt64 = 0, softirq: UInt64 = 0, steal: UInt64 = 0) {
        self.user = user
        self.nice = nice
        self.system = system
        self.idle = idle
        self.iowait = iowait
        self.irq = irq
        self.softirq = softirq
        self.steal = steal
    }

    /// All ticks. Guest time is already counted in user and nice, so it is not added again.
    public var total: UInt64 { user &+ nice &+ system &+ idle &+ iowait &+ irq &+ softirq &+ steal }
    /// Ticks doing work: everything but idle and waiting for IO.
    public var busy: UInt64 { total &- idle &- iowait }
}

/// The `cpu` lines of one `/proc/stat` read.
public struct ProcStat: Sendable, Equatable {
    /// The aggregate `cpu` line; nil when missing or malformed.
    public var total: CPUTimes?
    /// `cpuN` lines by N, in file order.
    public var cores: [(index: Int, times: CPUTimes)]
    /// Lines starting with `cpu` that could not be parsed (garbage or truncated).
    public var malformedLines: Int

    public init(total: CPUTimes? = nil, cores: [(index: Int, times: CPUTimes)] = [], malformedLines: Int = 0) {
        self.total = total
        self.cores = cores
        self.malformedLines = malformedLines
    }

    public static func == (lhs: ProcStat, rhs: ProcStat) -> Bool {
        lhs.total == rhs.total && lhs.malformedLines == rhs.malformedLines
            && lhs.cores.map(\.index) == rhs.cores.map(\.index) && lhs.cores.map(\.times) == rhs.cores.map(\.times)
    }
}

/// Busy share of a CPU between two snapshots, in percent; nil when no time passed or a
/// counter went backwards (a CPU taken offline and back resets its counters).
public func cpuUtilisationPercent(previous: CPUTimes, current: CPUTimes) -> Double? {
    guard current.total > previous.total, current.busy >= previous.busy else { return nil }
    let totalDelta = Double(current.total - previous.total)
    let busyDelta = Double(current.busy - previous.busy)
    return min(100, max(0, busyDelta / totalDelta * 100))
}

/// Parses the `cpu` lines of `/proc/stat`. A line needs at least the four fields every kernel
/// writes (user, nice, system, idle); fields missing on old kernels count as zero. Anything
/// else on a `cpu` line (garbage, a line cut in the middle of its name) makes it malformed and
/// skipped, never a crash.
public func parseProcStat(_ bytes: UnsafeBufferPointer<UInt8>) -> ProcStat {
    var result = ProcStat()
    var fields = [Range<Int>](repeating: 0..<0, count: 9)
    var values = [UInt64](repeating: 0, count: 8)
    ByteParsing.forEachLine(bytes) { line in
        guard ByteParsing.hasPrefix(bytes, line, "cpu") else { return }
        let count = ByteParsing.split(bytes, line, into: &fields)
        guard count >= 5 else { result.malformedLines += 1; return }
        for position in 0..<8 { values[position] = 0 }
        for position in 0..<min(8, count - 1) {
            guard let value = ByteParsing.unsigned(bytes, fields[position + 1]) else {
                result.malformedLines += 1
                return
            }
            values[position] = value
        }
        let times = CPUTimes(user: values[0], nice: values[1], system: values[2], idle: values[3],
                             iowait: values[4], irq: values[5], softirq: values[6], steal: values[7])
        let name = fields[0]
        if name.count == 3 {
            result.total = times
        } else if let index = ByteParsing.unsigned(bytes, (name.lowerBound + 3)..<name.upperBound),
                  index < 65_536 {
            result.cores.append((Int(index), times))
        } else {
            result.malformedLines += 1
        }
    }
    return result
}

/// Convenience for tests and callers that hold text.
public func parseProcStat(_ text: String) -> ProcStat {
    ByteParsing.withBytes(of: text) { parseProcStat($0) }
}

/// CPU utilisation, total and per core, in percent, from `/proc/stat` deltas between calls.
/// The first call only records the counters and returns no readings.
public final class CPUCollector: Collector {
    public let name = "proc.cpu"
    public let group = SamplingGroup.cpu
    public let procRoot: String
    private let path: String
    private let reader = BoundedFileReader(maximumBytes: 256 * 1024)
    private var previous: ProcStat?
    private var descriptors = DescriptorCache()

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
        self.path = procRoot + "/stat"
    }

    public func collect() throws -> [Reading] {
        let current = try reader.withContents(of: path) { parseProcStat($0) }
        defer { previous = current }
        return readings(previous: previous, current: current)
    }

    /// Clock ticks per second of `/proc/stat` (USER_HZ).
    public static let ticksPerSecond: Double = {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? Double(ticks) : 100
    }()

    /// The readings for two snapshots; public so that tests can feed fixture pairs.
    public func readings(previous: ProcStat?, current: ProcStat) -> [Reading] {
        var result = counters(current)
        guard let previous else { return result }
        result.reserveCapacity(current.cores.count + 1)
        if let before = previous.total, let now = current.total,
           let percent = cpuUtilisationPercent(previous: before, current: now) {
            result.append(Reading(descriptor: descriptor(core: nil), value: percent))
        }
        // Cores are matched by index, not position: an offline CPU vanishes from the file.
        var earlier: [Int: CPUTimes] = [:]
        earlier.reserveCapacity(previous.cores.count)
        for core in previous.cores { earlier[core.index] = core.times }
        for core in current.cores {
            guard let before = earlier[core.index],
                  let percent = cpuUtilisationPercent(previous: before, current: core.times) else { continue }
            result.append(Reading(descriptor: descriptor(core: core.index), value: percent))
        }
        return result
    }

    /// node_exporter's `node_cpu_seconds_total{cpu, mode}`: each core's time in each mode, local
    /// to the blade (Prometheus scrapes every blade for its own).
    func counters(_ stat: ProcStat) -> [Reading] {
        var result: [Reading] = []
        result.reserveCapacity(stat.cores.count * 8)
        for core in stat.cores {
            let times = core.times
            for (mode, ticks) in [("user", times.user), ("nice", times.nice), ("system", times.system), ("idle", times.idle),
                                  ("iowait", times.iowait), ("irq", times.irq), ("softirq", times.softirq), ("steal", times.steal)] {
                let key = "cpu.core\(core.index).seconds.\(mode)"
                let descriptor = descriptors.descriptor(key) {
                    Descriptors.performance(key: key, label: "CPU \(core.index) \(mode) time", unit: "seconds", source: name,
                                            group: group, component: MetricDescriptor.countersComponent,
                                            prometheusName: "node_cpu_seconds_total",
                                            labels: ["cpu": String(core.index), "mode": mode], replication: .local)
                }
                result.append(Reading(descriptor: descriptor, value: Double(ticks) / Self.ticksPerSecond))
            }
        }
        return result
    }

    private func descriptor(core: Int?) -> MetricDescriptor {
        let key = core.map { "cpu.core\($0).utilisation" } ?? "cpu.total.utilisation"
        return descriptors.descriptor(key) {
            Descriptors.performance(
                key: key, label: core.map { "CPU \($0) utilisation" } ?? "CPU utilisation",
                unit: "percent", source: name, group: group, component: "cpu",
                // node_exporter exports only the tick counters (node_cpu_seconds_total); this is a rate.
                prometheusName: "chassis_cpu_utilisation_ratio",
                labels: ["cpu": core.map(String.init) ?? "total"])
        }
    }
}
