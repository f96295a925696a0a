/// What a blade is in the election, as the engine publishes it, the web app and the console read
/// it, and the cluster view shows every member. One type everywhere a role is named.
public enum ManagerRole: String, Sendable, Codable, CaseIterable {
    /// Holds a valid lease and serves the chassis.
    case active
    /// Follows the active manager (or a leader whose lease is not yet valid: `candidate`).
    case standby
    /// Campaigning, or elected with a lease not yet valid.
    case candidate
    /// Votes and keeps the log; no metrics, no web.
    case witness
    /// A member not heard from recently (in the cluster view only).
    case down
    /// The engine of this blade is not publishing.
    case unknown

    /// A role from text another version wrote: anything unknown is `unknown`, never an error.
    public init(from decoder: Decoder) throws {
        self = ManagerRole(rawValue: try decoder.singleValueContainer().decode(String.self)) ?? .unknown
    }

    /// The roles the store's `engine_state.role` column takes (its CHECK).
    public static var publishedRoles: [ManagerRole] { [.active, .standby, .candidate, .witness] }
}
