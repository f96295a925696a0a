#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Model

/// A member added at run time (hot-add into an empty slot), replicated through the log so that
/// every blade knows how to reach it.
public struct MemberRecord: Sendable, Codable, Equatable {
    public var name: String
    public var memberID: UInt32
    public var address: String
    public var slotID: Int?
    public var port: Int
    public var priority: Int?
    public var witness: Bool

    public init(name: String, memberID: UInt32, address: String, slotID: Int?, port: Int, priority: Int?, witness: Bool) {
        self.name = name
        self.memberID = memberID
        self.address = address
        self.slotID = slotID
        self.port = port
        self.priority = priority
        self.witness = witness
    }
}

extension StoreWriter {
    public func memberRecords() throws -> [MemberRecord] {
        let statement = try config.statement("""
            SELECT name, member_id, address, slot_id, port, priority, witness FROM cluster_members ORDER BY member_id
            """)
        var records: [MemberRecord] = []
        while try statement.step() {
            records.append(MemberRecord(name: statement.string(0), memberID: UInt32(clamping: statement.int64(1)),
                                        address: statement.string(2), slotID: statement.optionalInt(3), port: statement.int(4),
                                        priority: statement.optionalInt(5), witness: statement.int(6) != 0))
        }
        return records
    }

    public func upsertMember(_ record: MemberRecord) throws {
        try config.transaction {
            try config.statement("DELETE FROM cluster_members WHERE name = ? OR member_id = ? OR address = ?")
                .run([.text(record.name), .integer(Int64(record.memberID)), .text(record.address)])
            try config.statement("""
                INSERT INTO cluster_members (name, member_id, address, slot_id, port, priority, witness)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """).run([.text(record.name), .integer(Int64(record.memberID)), .text(record.address), .int(record.slotID),
                          .integer(Int64(record.port)), .int(record.priority), .integer(record.witness ? 1 : 0)])
        }
    }

    @discardableResult
    public func deleteMember(name: String) throws -> Bool {
        try config.transaction {
            try config.statement("DELETE FROM cluster_members WHERE name = ?").run([.text(name)])
            return config.changes > 0
        }
    }
}
