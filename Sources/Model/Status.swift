/// The status of a value, a module, a slot or a chassis; ordered from best to worst.
public enum Status: String, Sendable, Codable, Comparable, CaseIterable {
    case ok
    case unknown
    case warning
    case critical
    case down
    /// A slot an operator powered off (or shut down): not a failure. Last, so that the wire
    /// format's status indexes stay as they were.
    case off

    private var rank: Int {
        switch self {
        case .ok: return 0
        case .off: return 1
        case .unknown: return 2
        case .warning: return 3
        case .critical: return 4
        case .down: return 5
        }
    }

    public static func < (a: Status, b: Status) -> Bool { a.rank < b.rank }
}
