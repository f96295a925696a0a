import Foundation
import Model
import Store
import Testing

/// The access tables through the engine's writer and the web app's reader, on real SQLite files:
/// users, tokens, sessions ended by logout, the throttle's counters, the audit log, and the
/// configuration image that carries them all to a blade that was away.
@Suite struct AccessStoreTests {
    static let now = 1_764_000_000.0
    static let hash = "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"

    static func user(_ name: String, _ role: Role, scope: AccessScope? = nil, generation: Int64 = 1) -> UserRecord {
        UserRecord(name: name, role: role, scope: scope, passwordHash: hash, generation: generation, createdAt: now - 100,
                   updatedAt: now - 100)
    }

    static func token(_ id: String, user: String, expiresAt: Double? = nil) -> TokenRecord {
        TokenRecord(id: id, user: user, label: "label of \(id)", secretHash: String(repeating: "ab", count: 32), createdAt: now - 50,
                    expiresAt: expiresAt)
    }

    static func audit(_ action: String, actor: String = "admin", at: Double = now, target: String = "t") -> AuditRecord {
        AuditRecord(id: 0, at: at, actor: actor, role: "admin", address: "10.0.0.1", via: "session", action: action, target: target,
                    old: nil, new: "{\"x\":1}")
    }

    static func sessionID(_ n: Int) -> String { String(format: "%032x", n) }

    // MARK: Users

    @Test func usersAreInsertedReplacedAndDeleted() throws {
        let store = try TemporaryStore()
        let customer = Self.user("carol", .customer, scope: AccessScope(chassisID: "660007770088", slots: [3, 2]))
        let before = try store.reader.dataVersion()
        try store.writer.insertUser(Self.user("alice", .admin))
        try store.writer.insertUser(customer)
        #expect(try store.reader.dataVersion() != before, "every write moves the configuration's version")
        #expect(try store.writer.users() == [Self.user("alice", .admin), customer])
        #expect(try store.reader.access().users == ["alice": Self.user("alice", .admin), "carol": customer])

        var changed = Self.user("alice", .operator, generation: 2)
        changed.passwordHash = Self.hash + "x"
        changed.updatedAt = Self.now
        try store.writer.replaceUser(changed)
        let alice = try #require(try store.writer.user(named: "alice"))
        #expect(alice.role == .operator && alice.generation == 2 && alice.passwordHash == Self.hash + "x")
        #expect(alice.createdAt == Self.now - 100 && alice.updatedAt == Self.now, "the creation time stays")

        try store.writer.insertToken(Self.token("0123456789abcdef", user: "alice"))
        try store.writer.setLoginFailures(key: LoginFailures.userKey("alice"),
                                          LoginFailures(key: "user:alice", failures: 2, lastFailureAt: Self.now, lockedUntil: nil), now: Self.now)
        try store.writer.deleteUser(name: "alice")
        let access = try store.reader.access()
        #expect(access.users.keys.sorted() == ["carol"])
        #expect(access.tokens.isEmpty, "the user's tokens went with it")
        #expect(access.loginFailures["user:alice"] == nil, "and its counter")
    }

    @Test func theSchemaRefusesWhatNoBladeMayHold() throws {
        let store = try TemporaryStore()
        try store.writer.insertUser(Self.user("alice", .admin))
        #expect(throws: (any Error).self, "a name twice") { try store.writer.insertUser(Self.user("alice", .viewer)) }
        #expect(throws: (any Error).self, "a customer without slots") { try store.writer.insertUser(Self.user("carol", .customer)) }
        #expect(throws: (any Error).self, "slots for staff") {
            try store.writer.insertUser(Self.user("bob", .viewer, scope: AccessScope(slots: [1])))
        }
        var clear = Self.user("dave", .viewer)
        clear.passwordHash = "hunter22"
        #expect(throws: (any Error).self, "a password in clear") { try store.writer.insertUser(clear) }
        #expect(throws: (any Error).self, "generation 0") { try store.writer.insertUser(Self.user("erin", .viewer, generation: 0)) }
        #expect(throws: (any Error).self, "a token of nobody") { try store.writer.insertToken(Self.token("0123456789abcdef", user: "nobody")) }
        #expect(throws: (any Error).self, "a short token id") { try store.writer.insertToken(Self.token("0123", user: "alice")) }
        #expect(throws: (any Error).self, "a session id of the wrong length") {
            try store.writer.revokeSession(id: "abc", until: Self.now, now: Self.now)
        }
        #expect(try store.writer.users().map(\.name) == ["alice"])
        #expect(try store.writer.tokens().isEmpty)
    }

    // MARK: Tokens

    @Test func tokensAreInsertedAndDeleted() throws {
        let store = try TemporaryStore()
        try store.writer.insertUser(Self.user("alice", .admin))
        try store.writer.insertUser(Self.user("bob", .viewer))
        let a = Self.token("aaaaaaaaaaaaaaaa", user: "alice", expiresAt: Self.now + 86_400)
        let b = Self.token("bbbbbbbbbbbbbbbb", user: "bob")
        try store.writer.insertToken(a)
        try store.writer.insertToken(b)
        #expect(try store.writer.tokens() == [a, b])
        #expect(try store.reader.access().tokens == [a.id: a, b.id: b])
        #expect(throws: (any Error).self, "an id twice") { try store.writer.insertToken(a) }
        try store.writer.deleteToken(id: a.id)
        #expect(try store.reader.access().tokens == [b.id: b])
        try store.writer.deleteUser(name: "bob")
        #expect(try store.reader.access().tokens.isEmpty)
    }

    // MARK: Ended sessions

    @Test func endedSessionsArePrunedOnceTheyWouldHaveExpired() throws {
        let store = try TemporaryStore()
        try store.writer.revokeSession(id: Self.sessionID(1), until: 100, now: 0)
        try store.writer.revokeSession(id: Self.sessionID(2), until: 200, now: 50)
        #expect(try store.reader.access().revokedSessions == [Self.sessionID(1): 100, Self.sessionID(2): 200])
        try store.writer.revokeSession(id: Self.sessionID(3), until: 300, now: 150)
        #expect(try store.reader.access().revokedSessions == [Self.sessionID(2): 200, Self.sessionID(3): 300])
        // The same session ended twice keeps one row, with the later time.
        try store.writer.revokeSession(id: Self.sessionID(3), until: 400, now: 150)
        #expect(try store.reader.access().revokedSessions == [Self.sessionID(2): 200, Self.sessionID(3): 400])
    }

    // MARK: Throttle counters

    @Test func countersAreStoredRemovedAndForgotten() throws {
        let store = try TemporaryStore()
        let old = LoginFailures(key: "address:10.0.0.1", failures: 3, lastFailureAt: Self.now - 4_000, lockedUntil: nil)
        let locked = LoginFailures(key: "user:bob", failures: 10, lastFailureAt: Self.now - 800, lockedUntil: Self.now + 100)
        try store.writer.setLoginFailures(key: old.key, old, now: Self.now - 4_000)
        try store.writer.setLoginFailures(key: locked.key, locked, now: Self.now - 800)
        #expect(try store.writer.loginFailures(key: old.key) == old)
        let fresh = LoginFailures(key: "user:alice", failures: 1, lastFailureAt: Self.now, lockedUntil: nil)
        try store.writer.setLoginFailures(key: fresh.key, fresh, now: Self.now)
        let counters = try store.reader.access().loginFailures
        #expect(counters[old.key] == nil, "an hour-old counter is forgotten")
        #expect(counters[locked.key] == locked, "a lock that still holds is kept")
        #expect(counters[fresh.key] == fresh)
        try store.writer.setLoginFailures(key: fresh.key, nil, now: Self.now)
        #expect(try store.writer.loginFailures(key: fresh.key) == nil)
        #expect(throws: (any Error).self, "a counter of no failures") {
            try store.writer.setLoginFailures(key: "user:x", LoginFailures(key: "user:x", failures: 0, lastFailureAt: Self.now, lockedUntil: nil),
                                              now: Self.now)
        }
    }

    @Test func countersAreBoundedInNumber() throws {
        let store = try TemporaryStore()
        var image = try store.writer.exportConfiguration()
        let count = LoginThrottle.recordsMax + 1
        image.loginFailures = (0..<count).map { index in
            LoginFailures(key: "address:10.\(index / 65_536).\(index / 256 % 256).\(index % 256)", failures: 1,
                          lastFailureAt: Self.now - 1_000 + Double(index) * 0.1, lockedUntil: nil)
        }
        try store.writer.importConfiguration(image)
        #expect(try store.reader.access().loginFailures.count == count)
        try store.writer.setLoginFailures(key: "user:scan", LoginFailures(key: "user:scan", failures: 1, lastFailureAt: Self.now,
                                                                          lockedUntil: nil), now: Self.now)
        let counters = try store.reader.access().loginFailures
        #expect(counters.count == LoginThrottle.recordsMax)
        #expect(counters["user:scan"] != nil, "the newest is kept")
        #expect(counters["address:10.0.0.0"] == nil && counters["address:10.0.0.1"] == nil, "the oldest go first")
        #expect(counters["address:10.0.0.2"] != nil)
    }

    // MARK: Audit

    @Test func theAuditLogIsAppendedWithItsIdsNewestFirst() throws {
        let store = try TemporaryStore()
        let first = try store.writer.appendAudit(Self.audit("user.add", at: Self.now - 2))
        let second = try store.writer.appendAudit(Self.audit("threshold.set", at: Self.now - 1))
        #expect(second == first + 1)
        let records = try store.reader.audit(filter: AuditFilter(), limit: 100)
        #expect(records.map(\.id) == [second, first])
        var expected = Self.audit("threshold.set", at: Self.now - 1)
        expected.id = second
        #expect(records.first == expected)
        #expect(try store.writer.auditRecords() == records)
        #expect(try store.reader.audit(filter: AuditFilter(), limit: 1).map(\.id) == [second])
    }

    @Test func theAuditLogIsBoundedByCount() throws {
        let store = try TemporaryStore()
        var image = try store.writer.exportConfiguration()
        image.audit = (1...(AuditRecord.recordsMax + 4)).map { index in
            var record = Self.audit("login.failed", at: Self.now - 10_000 + Double(index))
            record.id = Int64(index)
            return record
        }
        try store.writer.importConfiguration(image)
        let id = try store.writer.appendAudit(Self.audit("user.add"))
        #expect(id == Int64(AuditRecord.recordsMax + 5))
        let records = try store.writer.auditRecords(limit: AuditRecord.recordsMax)
        #expect(records.count == AuditRecord.recordsMax)
        #expect(records.first?.id == id)
        #expect(records.last?.id == 6, "the oldest five are gone")
        // A reader asking for more than the bound gets the bound.
        #expect(try store.reader.audit(filter: AuditFilter(), limit: 1_000_000).count == AuditRecord.recordsMax)
    }

    @Test func theAuditLogIsBoundedByAgeFromTheRecordsOwnTime() throws {
        let store = try TemporaryStore()
        let t = Self.now - AuditRecord.ageSecondsMax - 1_000
        try store.writer.appendAudit(Self.audit("user.add", at: t))
        try store.writer.appendAudit(Self.audit("user.update", at: t + 500))
        let recent = try store.writer.appendAudit(Self.audit("user.remove", at: t + AuditRecord.ageSecondsMax + 100))
        // Counted from the new record's time, not the clock: every blade keeps the same entries.
        let records = try store.writer.auditRecords()
        #expect(records.map(\.action) == ["user.remove", "user.update"])
        #expect(records.first?.id == recent)
    }

    @Test func theAuditLogIsFilteredByActorActionFamilyAndTime() throws {
        let store = try TemporaryStore()
        let actions = [("admin", "user.add"), ("admin", "user.remove"), ("oper", "threshold.set"), ("alice", "login.failed"),
                       ("alice", "login.succeeded"), ("admin", "users.odd"), ("admin", "userYx.add"), ("admin", "user_x.add")]
        for (index, (actor, action)) in actions.enumerated() {
            try store.writer.appendAudit(Self.audit(action, actor: actor, at: Self.now + Double(index)))
        }
        func read(_ filter: AuditFilter) throws -> [String] {
            try store.reader.audit(filter: filter, limit: 100).map(\.action)
        }
        #expect(try read(AuditFilter(actor: "alice")) == ["login.succeeded", "login.failed"])
        #expect(try read(AuditFilter(action: "user")) == ["user.remove", "user.add"], "a family is ACTION.*, nothing else")
        #expect(try read(AuditFilter(action: "login.failed")) == ["login.failed"])
        #expect(try read(AuditFilter(action: "login")) == ["login.succeeded", "login.failed"])
        #expect(try read(AuditFilter(action: "user_x")) == ["user_x.add"], "LIKE's wildcards are taken literally")
        #expect(try read(AuditFilter(action: "%")).isEmpty)
        #expect(try read(AuditFilter(action: "_ser")).isEmpty)
        #expect(try read(AuditFilter(actor: "admin", action: "user")) == ["user.remove", "user.add"])
        #expect(try read(AuditFilter(actor: "oper", action: "user")).isEmpty)
        #expect(try read(AuditFilter(since: Self.now + 3, until: Self.now + 4)) == ["login.succeeded", "login.failed"])
        #expect(try read(AuditFilter(actor: "nobody")).isEmpty)
    }

    /// The web app keeps the access state until the configuration part of the data version (the
    /// token before its first '-') moves: it must move with every access write, and metrics
    /// written every second must not move it.
    @Test func theConfigurationPartOfTheVersionMovesWithAccessWritesOnly() throws {
        let store = try TemporaryStore()
        func configurationPart() throws -> Substring {
            try #require(store.reader.dataVersion().split(separator: "-", maxSplits: 1).first)
        }
        let first = try configurationPart()
        let whole = try store.reader.dataVersion()
        try store.record(["t1": 40], at: Self.now)
        #expect(try store.reader.dataVersion() != whole, "metrics move the whole version")
        #expect(try configurationPart() == first, "but not its configuration part")
        var seen = [first]
        let writes: [() throws -> Void] = [
            { try store.writer.insertUser(Self.user("alice", .admin)) },
            { try store.writer.replaceUser(Self.user("alice", .operator, generation: 2)) },
            { try store.writer.insertToken(Self.token("aaaaaaaaaaaaaaaa", user: "alice")) },
            { try store.writer.deleteToken(id: "aaaaaaaaaaaaaaaa") },
            { try store.writer.revokeSession(id: Self.sessionID(1), until: Self.now + 10, now: Self.now) },
            { try store.writer.setLoginFailures(key: "user:alice", LoginFailures(key: "user:alice", failures: 1, lastFailureAt: Self.now,
                                                                                lockedUntil: nil), now: Self.now) },
            { try store.writer.deleteUser(name: "alice") },
        ]
        for (index, write) in writes.enumerated() {
            try write()
            let part = try configurationPart()
            #expect(!seen.contains(part), "access write \(index) left the configuration part at \(part)")
            seen.append(part)
        }
    }

    // MARK: The configuration image

    static func populate(_ store: TemporaryStore) throws {
        try store.writer.insertUser(Self.user("alice", .admin))
        try store.writer.insertUser(Self.user("carol", .customer, scope: AccessScope(chassisID: "660007770088", slots: [2, 3]), generation: 4))
        try store.writer.insertToken(Self.token("aaaaaaaaaaaaaaaa", user: "alice", expiresAt: Self.now + 86_400))
        try store.writer.insertToken(Self.token("cccccccccccccccc", user: "carol"))
        try store.writer.revokeSession(id: Self.sessionID(7), until: Self.now + 3_600, now: Self.now)
        try store.writer.setLoginFailures(key: "user:carol", LoginFailures(key: "user:carol", failures: 10, lastFailureAt: Self.now,
                                                                           lockedUntil: Self.now + 900), now: Self.now)
        try store.writer.setLoginFailures(key: "address:10.0.0.9", LoginFailures(key: "address:10.0.0.9", failures: 4,
                                                                                 lastFailureAt: Self.now, lockedUntil: nil), now: Self.now)
        try store.writer.appendAudit(Self.audit("user.add", target: "user alice"))
        try store.writer.appendAudit(Self.audit("login.failed", actor: "carol", target: "user carol"))
    }

    @Test func anImageCarriesTheAccessStateToAnotherBlade() throws {
        let source = try TemporaryStore()
        try Self.populate(source)
        let image = try source.writer.exportConfiguration()
        #expect(image.users?.map(\.name) == ["alice", "carol"])
        #expect(image.tokens?.count == 2)
        #expect(image.revokedSessions == [RevokedSession(id: Self.sessionID(7), until: Self.now + 3_600)])
        #expect(image.loginFailures?.count == 2)
        #expect(image.audit?.map(\.action) == ["user.add", "login.failed"], "oldest first, as appended")

        // As a consensus snapshot carries it: encoded, sent, decoded.
        let carried = try JSONDecoder().decode(ConfigurationImage.self, from: JSONEncoder().encode(image))
        #expect(carried == image)

        let target = try TemporaryStore()
        try target.writer.insertUser(Self.user("stale", .viewer))
        try target.writer.appendAudit(Self.audit("user.add", actor: "someone else"))
        try target.writer.importConfiguration(carried)
        let again = try target.writer.exportConfiguration()
        #expect(again.users == image.users)
        #expect(again.tokens == image.tokens)
        #expect(again.revokedSessions == image.revokedSessions)
        #expect(again.loginFailures == image.loginFailures)
        #expect(again.audit == image.audit, "the same ids, times and contents")
        #expect(try target.reader.access() == source.reader.access())
        #expect(try target.reader.audit(filter: AuditFilter(), limit: 100) == source.reader.audit(filter: AuditFilter(), limit: 100))
        // The next record appended continues the ids on both blades alike.
        #expect(try target.writer.appendAudit(Self.audit("user.remove")) == source.writer.appendAudit(Self.audit("user.remove")))
    }

    @Test func anImageWithoutAccessStateLeavesItAsItIs() throws {
        let store = try TemporaryStore()
        try Self.populate(store)
        let before = try store.reader.access()
        var image = try store.writer.exportConfiguration()
        image.users = nil
        image.tokens = nil
        image.revokedSessions = nil
        image.loginFailures = nil
        image.audit = nil
        try store.writer.importConfiguration(image)
        #expect(try store.reader.access() == before)
        #expect(try store.writer.auditRecords().count == 2)
    }
}

/// A committed command that the store's constraints refuse changes nothing and is answered as
/// refused, the same on every blade, instead of stopping the engine.
@Suite struct RefusedCommandTests {
    @Test func aRefusedCommandIsUndoneAndAnswered() throws {
        let store = try TemporaryStore()
        let refused: String = try store.writer.applying(index: 1) {
            try store.writer.refusingConstraintViolations({ () throws -> String in
                try store.writer.setSetting("before.the.failure", "written")
                // The role column holds 64 characters.
                _ = try store.writer.updateSlot(slotID: 1, name: "x", moduleType: ModuleType(
                    role: String(repeating: "r", count: 65), function: "", expectedModel: ""))
                return "applied"
            }) { error in
                #expect(error.isConstraintViolation)
                return "refused"
            }
        }
        #expect(refused == "refused")
        #expect(try store.writer.setting("before.the.failure") == nil, "the command's earlier writes are undone")
        #expect(try store.writer.setting("consensus.applied_index") == "1", "the entry still counts as applied")
    }

    @Test func otherErrorsStillPassOn() throws {
        let store = try TemporaryStore()
        struct Broken: Error {}
        #expect(throws: Broken.self) {
            try store.writer.refusingConstraintViolations({ () throws -> Int in throw Broken() }) { _ in 0 }
        }
    }
}

/// The alert log's queries against real SQLite.
@Suite struct AlertLogStoreTests {
    @Test func filtersStatesSlotsTextAndPages() throws {
        let store = try TemporaryStore()
        let writer = store.writer
        _ = try writer.raiseAlert(slotID: 1, metricKey: "a", metricLabel: "Temp one", severity: .warning, message: "hot one",
                                  value: 80, at: 1_000)
        _ = try writer.raiseAlert(slotID: 2, metricKey: "b", metricLabel: "Temp two", severity: .critical, message: "HOT two",
                                  value: 99, at: 1_001)
        _ = try writer.raiseAlert(slotID: nil, metricKey: "psu", metricLabel: "PSU", severity: .critical, message: "psu failed",
                                  value: 0, at: 1_002)
        try writer.clearAlert(slotID: 1, metricKey: "a", at: 1_010)
        let reader = store.reader
        func ids(_ filter: AlertFilter, limit: Int = 100) throws -> [Int64] { try reader.alertLog(filter: filter, limit: limit).map(\.id) }
        let all = try ids(AlertFilter())
        #expect(all.count == 3 && all == all.sorted(by: >))
        #expect(try reader.alertLog(filter: AlertFilter(state: .closed), limit: 10).map(\.metricKey) == ["a"])
        #expect(try reader.alertLog(filter: AlertFilter(state: .open), limit: 10).map(\.metricKey).sorted() == ["b", "psu"])
        #expect(try reader.alertLog(filter: AlertFilter(severity: .critical, slots: [2], includeChassis: false), limit: 10)
            .map(\.metricKey) == ["b"])
        #expect(try reader.alertLog(filter: AlertFilter(slots: [], includeChassis: true), limit: 10).map(\.metricKey) == ["psu"])
        #expect(try ids(AlertFilter(slots: [], includeChassis: false)).isEmpty, "an empty scope sees nothing")
        #expect(try reader.alertLog(filter: AlertFilter(text: "hot"), limit: 10).map(\.metricKey).sorted() == ["a", "b"])
        #expect(try reader.alertLog(filter: AlertFilter(text: "temp TWO"), limit: 10).map(\.metricKey) == ["b"])
        #expect(try reader.alertLog(filter: AlertFilter(since: 1_001), limit: 10).count == 2)
        let first = try ids(AlertFilter(), limit: 2)
        #expect(first.count == 2)
        #expect(try ids(AlertFilter(beforeID: first[1])) == [all[2]], "the next page starts after the last id")
    }
}
