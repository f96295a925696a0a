import Foundation
import Model

/// The snapshot at the latest data version, shared by all worker threads. The snapshot is read
/// from the store only when the data version changed; encoded JSON bodies are kept per route for
/// the same version, so a burst of pollers costs one encoding.
final class SnapshotCache: @unchecked Sendable {
    private let lock = NSLock()
    private var version: String?
    private var snapshot: ChassisSnapshot?
    private var bodies: [String: [UInt8]] = [:]
    /// Encoded bodies kept for one version, at most.
    static let bodiesMax = 64

    /// The snapshot for the source's current data version. The lock is held while reading, so
    /// one thread reads and the others wait for its result instead of reading too.
    func current(source: StateSource) throws -> (version: String, snapshot: ChassisSnapshot) {
        let latest = try source.dataVersion()
        lock.lock()
        defer { lock.unlock() }
        if latest == version, let snapshot { return (latest, snapshot) }
        let fresh = try source.snapshot()
        version = latest
        snapshot = fresh
        bodies.removeAll(keepingCapacity: true)
        return (latest, fresh)
    }

    /// A body encoded for this version, or encodes it now and keeps it.
    /// The lock is held while encoding: after a new version every poller wants the same body,
    /// and one encoding that the others wait for beats sixteen at once on two cores.
    func body(version: String, key: String, encode: () throws -> [UInt8]) throws -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        if version == self.version, let body = bodies[key] { return body }
        let body = try encode()
        if version == self.version, bodies.count < Self.bodiesMax { bodies[key] = body }
        return body
    }
}
