import Foundation
import Model

/// JSON documents of the API. Every document that shows chassis data carries `stale` and
/// `staleSince` (explicit `null` when fresh), so a client never mistakes old values for current.
struct ChassisDocument: Encodable {
    var snapshot: ChassisSnapshot
    var stale: Bool

    enum Keys: String, CodingKey {
        case stale, staleSince, dataVersion, generatedAt, chassis, slots, chassisMetrics, alerts, engine, newAlerts
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(stale, forKey: .stale)
        try container.encode(stale ? snapshot.engine.updatedAt : nil, forKey: .staleSince)
        try container.encode(snapshot.dataVersion, forKey: .dataVersion)
        try container.encode(snapshot.generatedAt, forKey: .generatedAt)
        try container.encode(snapshot.chassis, forKey: .chassis)
        try container.encode(snapshot.slots, forKey: .slots)
        try container.encode(snapshot.chassisMetrics, forKey: .chassisMetrics)
        try container.encode(snapshot.alerts, forKey: .alerts)
        var engine = snapshot.engine
        engine.stale = stale
        try container.encode(engine, forKey: .engine)
        try container.encode(snapshot.alerts.filter { $0.acknowledgedAt == nil }.count, forKey: .newAlerts)
    }
}

/// One slot, plus the chassis's new alerts so that a module page can keep its banner current
/// from this one poll.
struct SlotDocument: Encodable {
    var chassisID: String
    var dataVersion: String
    var stale: Bool
    var staleSince: Double?
    var slot: SlotView
    var newAlerts: [Alert]

    enum Keys: String, CodingKey { case chassisID, dataVersion, stale, staleSince, slot, newAlerts }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(chassisID, forKey: .chassisID)
        try container.encode(dataVersion, forKey: .dataVersion)
        try container.encode(stale, forKey: .stale)
        try container.encode(staleSince, forKey: .staleSince)
        try container.encode(slot, forKey: .slot)
        try container.encode(newAlerts, forKey: .newAlerts)
    }
}

struct AlertsDocument: Encodable {
    var stale: Bool
    var staleSince: Double?
    var alerts: [Alert]
    var newAlerts: Int
    var raisedWarning: Int
    var raisedCritical: Int

    enum Keys: String, CodingKey { case stale, staleSince, alerts, newAlerts, raisedWarning, raisedCritical }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(stale, forKey: .stale)
        try container.encode(staleSince, forKey: .staleSince)
        try container.encode(alerts, forKey: .alerts)
        try container.encode(newAlerts, forKey: .newAlerts)
        try container.encode(raisedWarning, forKey: .raisedWarning)
        try container.encode(raisedCritical, forKey: .raisedCritical)
    }
}

struct HistorySeries: Encodable {
    var key: String
    var label: String
    var unit: String
    var points: [HistoryPoint]
}

struct HistoryDocument: Encodable {
    var chassisID: String
    var slotID: Int
    var seconds: Double
    var series: [HistorySeries]
}

struct ErrorDocument: Codable {
    var error: String
}

struct WriteResultDocument: Encodable {
    var ok: Bool
    var id: Int64?
}

enum JSON {
    /// Deterministic output; non-finite numbers become strings instead of failing the response.
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        var bytes = [UInt8](try encoder.encode(value))
        bytes.append(0x0A)
        return bytes
    }

    static func errorBody(_ message: String) -> [UInt8] {
        (try? encode(ErrorDocument(error: message))) ?? Array("{\"error\":\"internal error\"}\n".utf8)
    }
}
