#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Model

/// What the consensus core persists, as the opaque blobs its codec produces. The store keeps them
/// in the configuration database, whose every commit is fsynced: the engine persists a `Ready`
/// here before it sends any message of it.
public struct ConsensusRecords: Sendable, Equatable {
    public var hardState: [UInt8]?
    public var snapshot: [UInt8]?
    public var entries: [[UInt8]]

    public init(hardState: [UInt8]?, snapshot: [UInt8]?, entries: [[UInt8]]) {
        self.hardState = hardState
        self.snapshot = snapshot
        self.entries = entries
    }
}

extension StoreWriter {
    public func loadConsensus() throws -> ConsensusRecords {
        var records = ConsensusRecords(hardState: nil, snapshot: nil, entries: [])
        let hard = try config.statement("SELECT state FROM consensus_hard_state WHERE id = 1")
        if try hard.step() { records.hardState = hard.blob(0) }
        hard.reset()
        let snapshot = try config.statement("SELECT snapshot FROM consensus_snapshot WHERE id = 1")
        if try snapshot.step() { records.snapshot = snapshot.blob(0) }
        snapshot.reset()
        let entries = try config.statement("SELECT entry FROM consensus_entries ORDER BY log_index")
        while try entries.step() { records.entries.append(entries.blob(0)) }
        return records
    }

    /// Persists one `Ready` of the core in one fsynced transaction: a new snapshot (dropping the
    /// entries it covers), a truncated log suffix, appended entries, and the hard state.
    public func persistConsensus(hardState: [UInt8]?, snapshot: (index: Int, bytes: [UInt8])?, truncateFrom: Int?,
                                 entries: [(index: Int, bytes: [UInt8])]) throws {
        guard hardState != nil || snapshot != nil || truncateFrom != nil || !entries.isEmpty else { return }
        try config.transaction {
            if let snapshot {
                try config.statement("""
                    INSERT INTO consensus_snapshot (id, log_index, snapshot) VALUES (1, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET log_index = excluded.log_index, snapshot = excluded.snapshot
                    """).run([.integer(Int64(snapshot.index)), .blob(snapshot.bytes)])
                try config.statement("DELETE FROM consensus_entries WHERE log_index <= ?").run([.integer(Int64(snapshot.index))])
            }
            if let truncateFrom {
                try config.statement("DELETE FROM consensus_entries WHERE log_index >= ?").run([.integer(Int64(truncateFrom))])
            }
            let insert = try config.statement("INSERT OR REPLACE INTO consensus_entries (log_index, entry) VALUES (?, ?)")
            for entry in entries {
                try insert.run([.integer(Int64(entry.index)), .blob(entry.bytes)])
            }
            if let hardState {
                try config.statement("""
                    INSERT INTO consensus_hard_state (id, state) VALUES (1, ?)
                    ON CONFLICT (id) DO UPDATE SET state = excluded.state
                    """).run([.blob(hardState)])
            }
        }
    }
}

extension StoreWriter {
    /// The index of the last log entry whose effects are in the configuration database.
    public func appliedIndex() throws -> Int {
        Int(try config.scalarInt("SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'consensus.applied_index'") ?? 0)
    }

    /// Applies one committed entry: its effects and the new applied index in one transaction, so
    /// that a crash never applies an entry twice or loses one.
    public func applying<T>(index: Int, _ body: () throws -> T) throws -> T {
        try config.transaction {
            let result = try body()
            try config.statement("""
                INSERT INTO settings (key, value) VALUES ('consensus.applied_index', ?)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """).run([.text(String(index))])
            return result
        }
    }

    /// Runs one command's writes so that a command the store's constraints refuse changes
    /// nothing and is answered as refused, on every blade alike (the constraint is the same
    /// everywhere), instead of stopping the engine; any other error passes on.
    public func refusingConstraintViolations<T>(_ body: () throws -> T, refused: (StoreError) -> T) throws -> T {
        do {
            return try config.savepoint(body)
        } catch let error as StoreError where error.isConstraintViolation {
            return refused(error)
        }
    }

    /// Installs a snapshot's configuration and records it as applied through `index`.
    public func install(_ image: ConfigurationImage, appliedThrough index: Int) throws {
        try config.transaction {
            try importConfiguration(image)
            try config.statement("""
                INSERT INTO settings (key, value) VALUES ('consensus.applied_index', ?)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """).run([.text(String(index))])
        }
    }
}
