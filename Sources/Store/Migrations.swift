#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A named schema change. Once shipped, a migration is never edited: add a new one instead.
struct Migration {
    let name: String
    let sql: String
}

enum Migrations {
    /// The configuration database: on disk, survives power loss, replicated through the log.
    static let configuration: [Migration] = [
        Migration(name: "2026-11-25-configuration-v1", sql: """
        CREATE TABLE meta (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            epoch TEXT NOT NULL,
            generation INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE chassis (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            chassis_id TEXT NOT NULL CHECK (length(chassis_id) BETWEEN 1 AND 64),
            name TEXT NOT NULL CHECK (length(name) <= 256),
            site TEXT NOT NULL DEFAULT '' CHECK (length(site) <= 256),
            row TEXT NOT NULL DEFAULT '' CHECK (length(row) <= 64),
            rack TEXT NOT NULL DEFAULT '' CHECK (length(rack) <= 64),
            shelf TEXT NOT NULL DEFAULT '' CHECK (length(shelf) <= 64),
            slot_count INTEGER NOT NULL CHECK (slot_count BETWEEN 1 AND 16)
        );
        CREATE TABLE slots (
            slot_id INTEGER PRIMARY KEY CHECK (slot_id BETWEEN 1 AND 16),
            name TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 256),
            role TEXT NOT NULL DEFAULT 'blade' CHECK (length(role) <= 64),
            function TEXT NOT NULL DEFAULT '' CHECK (length(function) <= 256),
            expected_model TEXT NOT NULL DEFAULT '' CHECK (length(expected_model) <= 256)
        );
        CREATE TABLE modules (
            id INTEGER PRIMARY KEY,
            slot_id INTEGER NOT NULL REFERENCES slots(slot_id),
            serial TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            revision TEXT NOT NULL DEFAULT '',
            manufacturer TEXT NOT NULL DEFAULT '',
            mac_addresses TEXT NOT NULL DEFAULT '',
            ip_addresses TEXT NOT NULL DEFAULT '',
            installed_at REAL NOT NULL,
            removed_at REAL CHECK (removed_at IS NULL OR removed_at >= installed_at)
        );
        CREATE UNIQUE INDEX modules_current ON modules(slot_id) WHERE removed_at IS NULL;
        CREATE TABLE thresholds (
            id INTEGER PRIMARY KEY,
            scope_kind TEXT NOT NULL CHECK (scope_kind IN ('global', 'chassis', 'module_type', 'slot')),
            scope_value TEXT NOT NULL DEFAULT '',
            metric_key TEXT NOT NULL CHECK (length(metric_key) BETWEEN 1 AND 256),
            low_critical REAL,
            low_warning REAL,
            high_warning REAL,
            high_critical REAL,
            hysteresis REAL NOT NULL DEFAULT 0 CHECK (hysteresis >= 0),
            minimum_duration_seconds REAL NOT NULL DEFAULT 0 CHECK (minimum_duration_seconds >= 0),
            UNIQUE (scope_kind, scope_value, metric_key)
        );
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            slot_id INTEGER,
            metric_key TEXT NOT NULL,
            metric_label TEXT NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('warning', 'critical')),
            message TEXT NOT NULL,
            value REAL,
            raised_at REAL NOT NULL,
            cleared_at REAL,
            acknowledged_at REAL,
            acknowledged_by TEXT
        );
        CREATE INDEX alerts_recent ON alerts(raised_at);
        CREATE INDEX alerts_open ON alerts(slot_id, metric_key) WHERE cleared_at IS NULL;
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """),
        Migration(name: "2026-11-25-consensus-v1", sql: """
        CREATE TABLE consensus_hard_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            state BLOB NOT NULL
        );
        CREATE TABLE consensus_snapshot (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            log_index INTEGER NOT NULL CHECK (log_index >= 0),
            snapshot BLOB NOT NULL
        );
        CREATE TABLE consensus_entries (
            log_index INTEGER PRIMARY KEY CHECK (log_index > 0),
            entry BLOB NOT NULL
        );
        """),
        Migration(name: "2026-11-25-cluster-members-v1", sql: """
        CREATE TABLE cluster_members (
            name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
            member_id INTEGER NOT NULL UNIQUE,
            address TEXT NOT NULL UNIQUE,
            slot_id INTEGER CHECK (slot_id IS NULL OR slot_id BETWEEN 1 AND 16),
            port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
            priority INTEGER,
            witness INTEGER NOT NULL DEFAULT 0 CHECK (witness IN (0, 1))
        );
        """),
        // Users, API tokens, sessions ended by logout, the login throttle's counters and the
        // audit log: replicated like the rest of the configuration. No secret in clear: scrypt
        // hashes of passwords, SHA-256 of token secrets.
        Migration(name: "2026-12-04-access-v1", sql: """
        CREATE TABLE users (
            name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
            role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer', 'customer')),
            scope TEXT CHECK ((role = 'customer') = (scope IS NOT NULL)),
            password_hash TEXT NOT NULL CHECK (password_hash LIKE '$scrypt$%'),
            generation INTEGER NOT NULL CHECK (generation > 0),
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY CHECK (length(id) = 16),
            user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
            label TEXT NOT NULL CHECK (length(label) <= 256),
            secret_hash TEXT NOT NULL CHECK (length(secret_hash) = 64),
            created_at REAL NOT NULL,
            expires_at REAL
        );
        CREATE TABLE revoked_sessions (
            id TEXT PRIMARY KEY CHECK (length(id) = 32),
            until REAL NOT NULL
        );
        CREATE TABLE login_failures (
            key TEXT PRIMARY KEY,
            failures INTEGER NOT NULL CHECK (failures > 0),
            last_failure_at REAL NOT NULL,
            locked_until REAL
        );
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            actor TEXT NOT NULL,
            role TEXT NOT NULL,
            address TEXT NOT NULL,
            via TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            old TEXT,
            new TEXT
        );
        CREATE INDEX audit_at ON audit(at);
        """),
        // What happened, in the order the log decided it; notifications are sent from it.
        Migration(name: "2026-12-05-events-v1", sql: """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
            severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
            slot_id INTEGER,
            alert_id INTEGER,
            metric_key TEXT,
            message TEXT NOT NULL CHECK (length(message) <= 1024)
        );
        CREATE INDEX events_at ON events(at);
        """),
        // An acknowledgement says why, and may hold only for a while.
        Migration(name: "2026-12-05-alert-acknowledgement-comment", sql: """
        ALTER TABLE alerts ADD COLUMN acknowledged_comment TEXT CHECK (length(acknowledged_comment) <= 512);
        ALTER TABLE alerts ADD COLUMN acknowledged_until REAL;
        """),
        Migration(name: "2026-12-05-slot-affinity", sql: """
        ALTER TABLE slots ADD COLUMN affinity TEXT NOT NULL DEFAULT 'slot' CHECK (affinity IN ('slot', 'slot+serial'));
        ALTER TABLE slots ADD COLUMN approved_serial TEXT NOT NULL DEFAULT '' CHECK (length(approved_serial) <= 256);
        """),
        Migration(name: "2026-12-05-maintenance-v1", sql: """
        CREATE TABLE maintenance (
            id INTEGER PRIMARY KEY,
            slot_id INTEGER,
            starts_at REAL NOT NULL,
            ends_at REAL NOT NULL CHECK (ends_at > starts_at),
            reason TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 256),
            created_by TEXT NOT NULL,
            ended INTEGER NOT NULL DEFAULT 0 CHECK (ended IN (0, 1))
        );
        """),
        // Power and identify actions: asked, started (before the command runs), finished.
        Migration(name: "2026-12-06-power-actions-v1", sql: """
        CREATE TABLE power_actions (
            id INTEGER PRIMARY KEY,
            slot_id INTEGER NOT NULL CHECK (slot_id BETWEEN 1 AND 64),
            action TEXT NOT NULL CHECK (action IN ('on', 'shutdown', 'off', 'cycle', 'reset', 'identify-on', 'identify-off')),
            requested_by TEXT NOT NULL,
            requested_at REAL NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('requested', 'started', 'succeeded', 'failed', 'interrupted')),
            started_by TEXT,
            started_at REAL,
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            finished_at REAL,
            exit_status INTEGER,
            output TEXT NOT NULL DEFAULT '' CHECK (length(CAST(output AS BLOB)) <= 4096)
        );
        CREATE INDEX power_actions_slot ON power_actions(slot_id, id);
        """),
    ]

    /// The metrics database: a file on a tmpfs, rebuilt from the blades' reports after a reboot.
    static let metrics: [Migration] = [
        Migration(name: "2026-11-25-metrics-v1", sql: """
        CREATE TABLE meta (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            epoch TEXT NOT NULL,
            generation INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE metrics (
            id INTEGER PRIMARY KEY,
            slot_id INTEGER NOT NULL CHECK (slot_id BETWEEN 0 AND 16),
            key TEXT NOT NULL,
            descriptor TEXT NOT NULL,
            UNIQUE (slot_id, key)
        );
        CREATE TABLE current_values (
            metric_id INTEGER PRIMARY KEY REFERENCES metrics(id) ON DELETE CASCADE,
            value REAL,
            text TEXT,
            fault TEXT,
            sampled_at REAL NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('ok', 'unknown', 'warning', 'critical', 'down'))
        );
        CREATE TABLE samples (
            metric_id INTEGER NOT NULL,
            time REAL NOT NULL,
            value REAL NOT NULL
        );
        CREATE INDEX samples_by_metric ON samples(metric_id, time);
        CREATE TABLE minute_aggregates (
            metric_id INTEGER NOT NULL,
            minute INTEGER NOT NULL,
            minimum REAL NOT NULL,
            total REAL NOT NULL,
            maximum REAL NOT NULL,
            count INTEGER NOT NULL CHECK (count > 0),
            PRIMARY KEY (metric_id, minute)
        ) WITHOUT ROWID;
        CREATE TABLE blades (
            slot_id INTEGER PRIMARY KEY CHECK (slot_id BETWEEN 1 AND 16),
            name TEXT NOT NULL,
            address TEXT NOT NULL,
            last_report_at REAL,
            down_since REAL
        );
        CREATE TABLE engine_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            blade TEXT NOT NULL,
            address TEXT NOT NULL,
            slot_id INTEGER NOT NULL,
            role TEXT NOT NULL,
            term INTEGER NOT NULL DEFAULT 0,
            active_address TEXT,
            active_url TEXT,
            lease_deadline_ns INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL,
            pid INTEGER NOT NULL,
            cluster TEXT
        );
        """),
        // Minute aggregates are built from the samples in passes (StoreWriter.aggregateMinutes)
        // instead of an upsert per sample; the cursor is the last sample already counted. A store
        // of the previous version counted every sample it holds as it wrote it.
        Migration(name: "2026-11-25-metrics-aggregation-cursor", sql: """
        CREATE TABLE aggregation_cursor (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_rowid INTEGER NOT NULL
        );
        INSERT INTO aggregation_cursor (id, last_rowid) SELECT 1, coalesce(max(rowid), 0) FROM samples;
        """),
        // The role the engine publishes is one of ManagerRole's published roles, and nothing else.
        Migration(name: "2026-12-04-engine-state-role-check", sql: """
        CREATE TABLE engine_state_checked (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            blade TEXT NOT NULL,
            address TEXT NOT NULL,
            slot_id INTEGER NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('active', 'standby', 'candidate', 'witness')),
            term INTEGER NOT NULL DEFAULT 0,
            active_address TEXT,
            active_url TEXT,
            lease_deadline_ns INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL,
            pid INTEGER NOT NULL,
            cluster TEXT
        );
        INSERT INTO engine_state_checked SELECT * FROM engine_state WHERE role IN ('active', 'standby', 'candidate', 'witness');
        DROP TABLE engine_state;
        ALTER TABLE engine_state_checked RENAME TO engine_state;
        """),
    ]

    /// Applies, in order, every migration not yet recorded, each in its own transaction.
    static func migrate(_ database: Database, _ migrations: [Migration]) throws {
        try database.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        for migration in migrations {
            let applied = try database.scalarInt("SELECT count(*) FROM schema_migrations WHERE name = ?", [.text(migration.name)])
            if applied ?? 0 > 0 { continue }
            try database.transaction {
                try database.execute(migration.sql)
                try database.statement("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)")
                    .run([.text(migration.name), .real(Date().timeIntervalSince1970)])
            }
        }
        try database.statement("INSERT OR IGNORE INTO meta (id, epoch, generation) VALUES (1, ?, 0)")
            .run([.text(String(UInt64.random(in: 1...UInt64.max), radix: 36))])
    }
}
