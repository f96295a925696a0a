/// The status of a value, a module, a slot or a chassis; ordered from best to worst.
public enum Status: String, Sendable, Codable, Comparable, CaseIterable {
    case ok
    case unknown
    case warning
    case critical
    case down

    private var rank: Int {
        switch self {
        case .ok: return 0
        case .unknown: return 1
        case .warning: return 2
        case .critical: return 3
        case .down: return 4
        }
    }

    public static func < (a: Status, b: Status) -> Bool { a.rank < b.rank }
}
