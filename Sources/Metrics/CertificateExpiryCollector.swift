#if canImport(Glibc)
import Glibc
#endif
import Model

/// Days until this blade's HTTPS certificate expires (`tls.certificate.days_left`), read from the
/// file the engine writes beside the certificate (`blade.crt.not-after`: Unix seconds). Its
/// built-in limits make an expiry within 30 days a warning and within 7 days critical: the
/// certificate is renewed 45 days before its end, so either means renewal has been failing.
public final class CertificateExpiryCollector: Collector {
    public let name = "tls.certificate"
    public let group = SamplingGroup.system
    private let path: String
    private let clock: () -> Double
    private let reader = BoundedFileReader(maximumBytes: 64)
    private let descriptor: MetricDescriptor
    public static let warningDays = 30.0
    public static let criticalDays = 7.0

    public init(path: String, clock: @escaping () -> Double) {
        self.path = path
        self.clock = clock
        descriptor = MetricDescriptor(
            key: "tls.certificate.days_left", label: "HTTPS certificate days left", metricClass: .health, unit: "days",
            source: name, replication: .dynamic, group: .system, component: "system",
            prometheusName: "chassis_tls_certificate_remaining_seconds",
            limits: Limits(lowCritical: Self.criticalDays, lowWarning: Self.warningDays, highWarning: nil, highCritical: nil))
    }

    /// Unix seconds in the file's text; nil unless it is a plain number.
    public static func parseNotAfter(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x20 || bytes[end - 1] == 0x0D { end -= 1 }
        guard end > 0 else { return nil }
        return ByteParsing.decimal(bytes, 0..<end)
    }

    public func collect() throws -> [Reading] {
        // No certificate of the chassis' authority yet (the first seconds of a new chassis).
        guard access(path, F_OK) == 0 else { return [] }
        guard let notAfter = try reader.withContents(of: path, Self.parseNotAfter) else {
            return [Reading(descriptor: descriptor, fault: "unparsable \(path)")]
        }
        return [Reading(descriptor: descriptor, value: ((notAfter - clock()) / 86_400 * 10).rounded() / 10)]
    }
}
