import Model
import Store

/// What the web app reads. `Store.StoreReader` provides it from SQLite (one read-only connection
/// per worker thread); tests may provide it from memory.
public protocol StateSource: AnyObject {
    /// A cheap token that changes whenever either database changes (SQLite's data_version of both
    /// connections plus their file identities). Used for the ETag and the snapshot cache.
    func dataVersion() throws -> String
    /// The whole chassis, read in one transaction.
    func snapshot() throws -> ChassisSnapshot
    /// History of one metric of one slot (slot 0 is the chassis itself), oldest first: raw samples
    /// for the last hour, then one-minute aggregates further back, up to `seconds` into the past.
    func history(slotID: Int, key: String, seconds: Double) throws -> [HistoryPoint]
    /// This blade's own view; computed per request because the lease check uses the clock.
    func local() throws -> LocalView
    /// The cluster view for `/api/v1/cluster` (a single blade reports itself as the only member).
    func cluster() throws -> ClusterView
    /// Users, tokens, ended sessions and throttle counters (the web app keeps them per data version).
    func access() throws -> AccessSnapshot
    /// The audit log, newest first.
    func audit(filter: AuditFilter, limit: Int) throws -> [AuditRecord]
    /// Every user-defined threshold rule.
    func thresholds() throws -> [ThresholdRule]
    /// One replicated setting (`interval_ms.cpu` ...).
    func setting(_ key: String) throws -> String?
    /// The alert log, newest first, as `filter` asks.
    func alertLog(filter: AlertFilter, limit: Int) throws -> [Alert]
    func eventLog(filter: EventFilter, limit: Int) throws -> [ChassisEvent]
    /// A change of this process's went through: the next read must not be a cached one.
    func expectChange()
}

extension StateSource {
    func expectChange() {}
}
