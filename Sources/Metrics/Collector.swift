import Model

/// One source of metrics. Each collector lives in its own file, reads through an injectable
/// root and hands the text to a pure parser, so that parsing is tested from fixture files.
public protocol Collector: AnyObject {
    /// Stable name, used as the `source` of its descriptors and in its own health metrics.
    var name: String { get }
    /// The sampling group whose interval drives it.
    var group: SamplingGroup { get }
    /// Takes one sample. Rates (CPU utilisation, bytes per second) are computed against the
    /// previous call, so the first call may return fewer readings. Throws only when the whole
    /// source is unavailable; a single unreadable value is a reading with a `fault`.
    func collect() throws -> [Reading]
}
