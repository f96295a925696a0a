import Model

/// Descriptors are built once per key and reused: a reading then costs a copy of
/// reference-counted strings, not new strings and dictionaries every second.
struct DescriptorCache {
    private var descriptors: [String: MetricDescriptor] = [:]
    /// A bound on distinct keys, so that a file listing thousands of devices cannot grow the
    /// cache without limit; past it, descriptors are built each time (correct, just slower).
    static let keysMax = 4_096

    mutating func descriptor(_ key: String, _ make: () -> MetricDescriptor) -> MetricDescriptor {
        if let cached = descriptors[key] { return cached }
        let made = make()
        if descriptors.count < Self.keysMax { descriptors[key] = made }
        return made
    }
}

/// Builders for the descriptors every collector makes, so that naming stays in one style.
enum Descriptors {
    static func performance(key: String, label: String, unit: String, source: String,
                            group: SamplingGroup, component: String, prometheusName: String,
                            labels: [String: String] = [:],
                            replication: ReplicationClass = .dynamic) -> MetricDescriptor {
        MetricDescriptor(key: key, label: label, metricClass: .performance, unit: unit, source: source,
                         replication: replication, group: group, component: component,
                         prometheusName: prometheusName, prometheusLabels: labels)
    }
}
