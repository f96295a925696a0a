import Access
import Config
import Foundation
import Model

/// The site as this blade's web app knows it: the other chassis its configuration lists
/// (`[[site_chassis]]`), the site key (read from `site.key`, written by the engine, when first
/// needed), and what the last round of questions found, which the App's poller records while
/// this blade is the active manager and the site page reads.
public final class SiteBoard: @unchecked Sendable {
    /// This chassis' own ID (`[chassis] id`): a question names it, a ticket must name it.
    public let chassisID: String
    public let siteName: String
    public let chassis: [BladeConfig.SiteChassis]
    /// The origins a browser gives the other chassis' pages: a site ticket is posted from there.
    let origins: Set<String>
    private let loadKeys: @Sendable () throws -> SiteKeys
    private let lock = NSLock()
    private var keys: SiteKeys?
    private var states: [String: SiteChassisState]

    public init(chassisID: String, siteName: String, chassis: [BladeConfig.SiteChassis],
                loadKeys: @escaping @Sendable () throws -> SiteKeys) {
        self.chassisID = chassisID
        self.siteName = siteName
        self.chassis = chassis
        origins = Set(chassis.flatMap { other in other.addresses.map { other.origin(address: $0) } })
        self.loadKeys = loadKeys
        states = Dictionary(uniqueKeysWithValues: chassis.map { ($0.name, SiteChassisState(name: $0.name)) })
    }

    /// The site's keys; read once, retried until the engine has written them.
    public func siteKeys() throws -> SiteKeys {
        lock.lock()
        defer { lock.unlock() }
        if let keys { return keys }
        let loaded = try loadKeys()
        keys = loaded
        return loaded
    }

    /// Every other chassis in the configuration's order.
    public func current() -> [SiteChassisState] {
        lock.lock()
        defer { lock.unlock() }
        return chassis.compactMap { states[$0.name] }
    }

    public func state(of name: String) -> SiteChassisState? {
        lock.lock()
        defer { lock.unlock() }
        return states[name]
    }

    /// Records one round's result for `name` (ignored for a name the configuration does not list).
    public func record(_ name: String, _ result: Result<(summary: SiteSummary, address: String), SiteProblem>, now: Double) {
        lock.lock()
        defer { lock.unlock() }
        guard let previous = states[name] else { return }
        states[name] = previous.after(result, now: now)
    }
}
