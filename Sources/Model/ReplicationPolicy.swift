#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The seed's Table I: for each metric group, its class, whether it is static or dynamic, how
/// often it is sampled, and the members each blade sends it to. All members by default, so that
/// any of them can take over with every blade's last status; an operator may keep a group on
/// fewer (say, the network counters of a busy chassis on two standbys only), and a member left
/// out then shows that group of the other blades only once it is the active manager and they
/// report to it.
public struct ReplicationPolicy: Sendable, Equatable {
    /// Members each group goes to; a group absent goes to all.
    public var members: [SamplingGroup: [String]]

    public static let settingPrefix = "replicate."

    public init(members: [SamplingGroup: [String]] = [:]) {
        self.members = members
    }

    /// Whether `peer` is sent the values of `group`.
    public func sends(_ group: SamplingGroup, to peer: String) -> Bool {
        members[group].map { $0.contains(peer) } ?? true
    }

    /// Whether every group goes to every member (the default: one batch for all).
    public var isEverywhere: Bool { members.isEmpty }

    /// The policy from the replicated settings (`replicate.GROUP` = a JSON list of member names).
    public static func from(settings: [String: String]) -> ReplicationPolicy {
        var policy = ReplicationPolicy()
        for group in SamplingGroup.allCases {
            guard let text = settings[settingPrefix + group.rawValue] else { continue }
            policy.members[group] = decodeList(text)
        }
        return policy
    }

    /// `["blade1","blade2"]` → the names; anything that is not a JSON list of names → none (the
    /// page shows what is in force).
    public static func decodeList(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    public static func encodeList(_ names: [String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? encoder.encode(names.sorted())).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    /// The class of a group's metrics in Table I.
    public static func metricClass(_ group: SamplingGroup) -> MetricClass {
        switch group {
        case .sensors: return .health
        case .identification: return .identification
        case .cpu, .memory, .disk, .network, .system: return .performance
        }
    }

    /// Static groups are sent once and on change; dynamic ones as they change and in full every 30 s.
    public static func isStatic(_ group: SamplingGroup) -> Bool { group == .identification }
}
