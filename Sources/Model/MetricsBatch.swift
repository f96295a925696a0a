/// One blade's samples as sent to the other blades (the replication members). Metrics are not in
/// the consensus log: every blade sends its own on its own interval, so that whichever blade
/// becomes the active manager already holds every blade's last status.
public struct MetricsBatch: Sendable, Codable, Equatable {
    public var blade: String
    public var slotID: Int
    /// Rises by one per batch from this blade's engine run; a receiver ignores older batches.
    public var sequence: UInt64
    /// The engine run that numbered the batches (a restarted engine starts a new run).
    public var run: UInt64
    /// Wall-clock time the values were sampled.
    public var sampledAt: Double
    /// A full batch carries every value and descriptor; the others only what changed.
    public var full: Bool
    public var values: [ReplicatedValue]

    public init(blade: String, slotID: Int, sequence: UInt64, run: UInt64, sampledAt: Double, full: Bool,
                values: [ReplicatedValue]) {
        self.blade = blade
        self.slotID = slotID
        self.sequence = sequence
        self.run = run
        self.sampledAt = sampledAt
        self.full = full
        self.values = values
    }
}

public struct ReplicatedValue: Sendable, Codable, Equatable {
    public var key: String
    /// Present in full batches and when the descriptor is new or changed.
    public var descriptor: MetricDescriptor?
    public var value: Double?
    public var text: String?
    public var fault: String?
    public var status: Status

    public init(key: String, descriptor: MetricDescriptor?, value: Double?, text: String?, fault: String?, status: Status) {
        self.key = key
        self.descriptor = descriptor
        self.value = value
        self.text = text
        self.fault = fault
        self.status = status
    }
}

/// Builds the batches of one blade: identification once and on change, dynamic values when they
/// change, local-only metrics never, and a full batch every `fullEverySeconds` so that a blade
/// that joined or missed some catches up.
public struct MetricsBatchBuilder: Sendable {
    public let blade: String
    public let slotID: Int
    public let run: UInt64
    public let fullEverySeconds: Double
    private var sequence: UInt64 = 0
    private var lastFullAt: Double?
    private var sent: [String: ReplicatedValue] = [:]

    public init(blade: String, slotID: Int, run: UInt64, fullEverySeconds: Double = 30) {
        precondition(fullEverySeconds > 0)
        self.blade = blade
        self.slotID = slotID
        self.run = run
        self.fullEverySeconds = fullEverySeconds
    }

    /// Makes the next batch a full one (a new member joined, the active manager changed).
    public mutating func forceFull() {
        lastFullAt = nil
    }

    /// The batch for these readings, or nil when nothing changed and no full batch is due.
    public mutating func batch(_ readings: [(reading: Reading, status: Status)], at time: Double) -> MetricsBatch? {
        let full = lastFullAt.map { time - $0 >= fullEverySeconds || time < $0 } ?? true
        var values: [ReplicatedValue] = []
        for (reading, status) in readings where reading.descriptor.replication != .local {
            let key = reading.descriptor.key
            let previous = sent[key]
            let descriptorChanged = previous?.descriptor != reading.descriptor
            let value = ReplicatedValue(key: key, descriptor: reading.descriptor, value: reading.value, text: reading.text,
                                        fault: reading.fault, status: status)
            let changed = previous == nil || descriptorChanged || previous!.value != value.value
                || previous!.text != value.text || previous!.fault != value.fault || previous!.status != value.status
            sent[key] = value
            guard !full && changed else { continue }
            var outgoing = value
            if !descriptorChanged { outgoing.descriptor = nil }
            values.append(outgoing)
        }
        if full {
            // Everything this blade last said, whatever group it came from, with descriptors.
            values = sent.keys.sorted().map { sent[$0]! }
        }
        if values.isEmpty && !full { return nil }
        if full { lastFullAt = time }
        sequence += 1
        return MetricsBatch(blade: blade, slotID: slotID, sequence: sequence, run: run, sampledAt: time, full: full,
                            values: values)
    }
}
