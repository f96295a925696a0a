import Model

/// The fields of `/proc/meminfo` that the memory collector uses, in bytes.
public struct MemoryInfo: Sendable, Equatable {
    public var totalBytes: UInt64?
    public var freeBytes: UInt64?
    /// `MemAvailable` (kernel 3.14 and later): what can be allocated without swapping.
    public var availableBytes: UInt64?
    public var buffersBytes: UInt64?
    public var cachedBytes: UInt64?
    public var swapTotalBytes: UInt64?
    public var swapFreeBytes: UInt64?

    public init(totalBytes: UInt64? = nil, freeBytes: UInt64? = nil, availableBytes: UInt64? = nil,
                buffersBytes: UInt64? = nil, cachedBytes: UInt64? = nil,
                swapTotalBytes: UInt64? = nil, swapFreeBytes: UInt64? = nil) {
        self.totalBytes = totalBytes
        self.freeBytes = freeBytes
        self.availableBytes = availableBytes
        self.buffersBytes = buffersBytes
        self.cachedBytes = cachedBytes
        self.swapTotalBytes = swapTotalBytes
        self.swapFreeBytes = swapFreeBytes
    }

    /// Available memory, estimated from free + buffers + cached on kernels without `MemAvailable`.
    public var effectiveAvailableBytes: UInt64? {
        if let availableBytes { return availableBytes }
        guard let freeBytes else { return nil }
        return freeBytes &+ (buffersBytes ?? 0) &+ (cachedBytes ?? 0)
    }

    /// Share of memory in use, in percent; nil without a total.
    public var usedPercent: Double? {
        guard let total = totalBytes, total > 0, let available = effectiveAvailableBytes else { return nil }
        return max(0, min(100, (1 - Double(min(available, total)) / Double(total)) * 100))
    }

    /// Share of swap in use, in percent: 0 when there is no swap at all.
    public var swapUsedPercent: Double? {
        guard let total = swapTotalBytes, let free = swapFreeBytes else { return nil }
        if total == 0 { return 0 }
        return max(0, min(100, (1 - Double(min(free, total)) / Double(total)) * 100))
    }
}

/// Parses `/proc/meminfo` lines such as `MemTotal:       24684092 kB`. Unknown keys and lines
/// that do not parse are ignored; a value without the `kB` suffix is taken as bytes.
public func parseMeminfo(_ bytes: UnsafeBufferPointer<UInt8>) -> MemoryInfo {
    var info = MemoryInfo()
    var fields = [Range<Int>](repeating: 0..<0, count: 3)
    ByteParsing.forEachLine(bytes) { line in
        let count = ByteParsing.split(bytes, line, into: &fields)
        guard count == 2 || count == 3 else { return }
        let key = fields[0]
        guard key.count > 1, bytes[key.upperBound - 1] == 0x3A /* : */ else { return }
        let name = key.lowerBound..<(key.upperBound - 1)
        guard let number = ByteParsing.unsigned(bytes, fields[1]) else { return }
        var value = number
        if count == 3 {
            guard ByteParsing.equals(bytes, fields[2], "kB") else { return }
            let (scaled, overflow) = number.multipliedReportingOverflow(by: 1024)
            if overflow { return }
            value = scaled
        }
        if ByteParsing.equals(bytes, name, "MemTotal") { info.totalBytes = value }
        else if ByteParsing.equals(bytes, name, "MemFree") { info.freeBytes = value }
        else if ByteParsing.equals(bytes, name, "MemAvailable") { info.availableBytes = value }
        else if ByteParsing.equals(bytes, name, "Buffers") { info.buffersBytes = value }
        else if ByteParsing.equals(bytes, name, "Cached") { info.cachedBytes = value }
        else if ByteParsing.equals(bytes, name, "SwapTotal") { info.swapTotalBytes = value }
        else if ByteParsing.equals(bytes, name, "SwapFree") { info.swapFreeBytes = value }
    }
    return info
}

public func parseMeminfo(_ text: String) -> MemoryInfo {
    ByteParsing.withBytes(of: text) { parseMeminfo($0) }
}

/// Memory and swap from `/proc/meminfo`: total, available, used percent, swap total, free and
/// used percent (swap only where there is some).
public final class MemoryCollector: Collector {
    public let name = "proc.meminfo"
    public let group = SamplingGroup.memory
    public let procRoot: String
    private let path: String
    private let reader = BoundedFileReader(maximumBytes: 16 * 1024)
    private var descriptors = DescriptorCache()

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
        self.path = procRoot + "/meminfo"
    }

    public func collect() throws -> [Reading] {
        readings(try reader.withContents(of: path) { parseMeminfo($0) })
    }

    /// The readings for one parsed file. A missing field becomes a fault reading, so the UI
    /// shows the sensor as unreadable instead of silently dropping it.
    public func readings(_ info: MemoryInfo) -> [Reading] {
        let memory = [
            reading("memory.total_bytes", "Memory total", "bytes", "node_memory_MemTotal_bytes",
                    "memory", info.totalBytes.map { Double($0) }, replication: .static),
            reading("memory.available_bytes", "Memory available", "bytes", "node_memory_MemAvailable_bytes",
                    "memory", info.effectiveAvailableBytes.map { Double($0) }),
            reading("memory.used_percent", "Memory used", "percent", "chassis_memory_used_ratio",
                    "memory", info.usedPercent),
        ]
        // A blade without swap shows none: no chart of a swap that does not exist.
        if info.swapTotalBytes == 0 { return memory }
        return memory + [
            reading("swap.total_bytes", "Swap total", "bytes", "node_memory_SwapTotal_bytes",
                    "swap", info.swapTotalBytes.map { Double($0) }, replication: .static),
            reading("swap.free_bytes", "Swap free", "bytes", "node_memory_SwapFree_bytes",
                    "swap", info.swapFreeBytes.map { Double($0) }),
            reading("swap.used_percent", "Swap used", "percent", "chassis_swap_used_ratio",
                    "swap", info.swapUsedPercent),
        ]
    }

    private func reading(_ key: String, _ label: String, _ unit: String, _ prometheusName: String,
                         _ component: String, _ value: Double?,
                         replication: ReplicationClass = .dynamic) -> Reading {
        let descriptor = descriptors.descriptor(key) {
            Descriptors.performance(key: key, label: label, unit: unit, source: name, group: group,
                                    component: component, prometheusName: prometheusName,
                                    replication: replication)
        }
        if let value { return Reading(descriptor: descriptor, value: value) }
        return Reading(descriptor: descriptor, fault: "missing from \(path)")
    }
}
