/// What the web app and the console show: the whole chassis at one data version, read from the
/// store in one transaction. Times are Unix seconds (wall clock) unless named otherwise.
public struct ChassisSnapshot: Sendable, Codable, Equatable {
    /// SQLite's data version of the stores when this was read; the web app's ETag derives from it.
    public var dataVersion: String
    public var generatedAt: Double
    public var chassis: ChassisInfo
    public var slots: [SlotView]
    /// Chassis-level devices: power supplies, chassis fans, midplane temperature.
    public var chassisMetrics: [MetricValue]
    /// Alerts that are raised, or cleared but not yet acknowledged, newest first.
    public var alerts: [Alert]
    public var engine: EngineFreshness
    /// Maintenance windows that have not ended.
    public var maintenance: [MaintenanceWindow]?

    public init(dataVersion: String, generatedAt: Double, chassis: ChassisInfo, slots: [SlotView],
                chassisMetrics: [MetricValue], alerts: [Alert], engine: EngineFreshness, maintenance: [MaintenanceWindow]? = nil) {
        self.dataVersion = dataVersion
        self.generatedAt = generatedAt
        self.chassis = chassis
        self.slots = slots
        self.chassisMetrics = chassisMetrics
        self.alerts = alerts
        self.engine = engine
        self.maintenance = maintenance
    }
}

public struct ChassisInfo: Sendable, Codable, Equatable {
    /// Electronically readable system chassis ID, e.g. `660007770088`.
    public var chassisID: String
    public var name: String
    public var site: String
    public var row: String
    public var rack: String
    public var shelf: String
    public var slotCount: Int
    public var status: Status

    public init(chassisID: String, name: String, site: String, row: String, rack: String, shelf: String,
                slotCount: Int, status: Status) {
        self.chassisID = chassisID
        self.name = name
        self.site = site
        self.row = row
        self.rack = rack
        self.shelf = shelf
        self.slotCount = slotCount
        self.status = status
    }
}

/// The sticky identity of a slot: it stays when the module in it is replaced.
public struct ModuleType: Sendable, Codable, Equatable {
    /// Role of the slot, e.g. `blade`, `switch`, `media`, `power`, `fan`.
    public var role: String
    /// What the module in the slot is for, e.g. `web front end`.
    public var function: String
    /// Expected model; a module of another model is flagged.
    public var expectedModel: String

    public init(role: String, function: String, expectedModel: String) {
        self.role = role
        self.function = function
        self.expectedModel = expectedModel
    }
}

/// How a slot's identity holds to the module in it: `slot` manages any module inserted as the
/// slot's type; `slot+serial` only the module an operator approved, and another serial is a
/// warning (and is not given the type's thresholds) until approved.
public enum SlotAffinity: String, Sendable, Codable, CaseIterable {
    case slot
    case slotSerial = "slot+serial"
}

public struct ModuleInfo: Sendable, Codable, Equatable {
    public var serial: String
    public var model: String
    public var revision: String
    public var manufacturer: String
    public var macAddresses: [String]
    public var ipAddresses: [String]
    public var installedAt: Double
    public var removedAt: Double?

    public init(serial: String, model: String, revision: String, manufacturer: String,
                macAddresses: [String], ipAddresses: [String], installedAt: Double, removedAt: Double? = nil) {
        self.serial = serial
        self.model = model
        self.revision = revision
        self.manufacturer = manufacturer
        self.macAddresses = macAddresses
        self.ipAddresses = ipAddresses
        self.installedAt = installedAt
        self.removedAt = removedAt
    }
}

public struct SlotView: Sendable, Codable, Equatable {
    public var slotID: Int
    public var name: String
    public var moduleType: ModuleType
    public var status: Status
    /// The module now in the slot, if any.
    public var module: ModuleInfo?
    /// Every module the slot has held, newest first (the current one included).
    public var history: [ModuleInfo]
    public var metrics: [MetricValue]
    /// When this slot's blade last reported (wall clock); nil if it never did.
    public var lastReportAt: Double?
    /// Set when the blade stopped reporting: its values are the last status before it failed.
    public var downSince: Double?
    /// `slot+serial` when the slot holds only an approved module (nil: `slot`).
    public var affinity: SlotAffinity?
    /// The serial number approved for the slot under `slot+serial`.
    public var approvedSerial: String?
    /// Power and identify as operators' actions left them (nil: no action was ever asked).
    public var power: SlotPower?
    /// Whether the module now in the slot waits for an operator's approval.
    public var awaitingApproval: Bool {
        affinity == .slotSerial && module.map { $0.serial != (approvedSerial ?? "") } == true
    }

    public init(slotID: Int, name: String, moduleType: ModuleType, status: Status, module: ModuleInfo?,
                history: [ModuleInfo], metrics: [MetricValue], lastReportAt: Double?, downSince: Double?) {
        self.slotID = slotID
        self.name = name
        self.moduleType = moduleType
        self.status = status
        self.module = module
        self.history = history
        self.metrics = metrics
        self.lastReportAt = lastReportAt
        self.downSince = downSince
    }
}

/// A metric with its latest value, the thresholds in force and the resulting status.
public struct MetricValue: Sendable, Codable, Equatable {
    public var descriptor: MetricDescriptor
    public var value: Double?
    public var text: String?
    public var fault: String?
    public var sampledAt: Double
    /// Thresholds in force (user-defined, else the hardware's limits).
    public var thresholds: Limits
    public var status: Status
    /// Where the thresholds come from: `libsensors`, `built-in`, or the rule (`slot 2 rule 7`).
    public var thresholdSource: String?

    public init(descriptor: MetricDescriptor, value: Double?, text: String?, fault: String?, sampledAt: Double,
                thresholds: Limits, status: Status, thresholdSource: String? = nil) {
        self.descriptor = descriptor
        self.value = value
        self.text = text
        self.fault = fault
        self.sampledAt = sampledAt
        self.thresholds = thresholds
        self.status = status
        self.thresholdSource = thresholdSource
    }
}

public enum Severity: String, Sendable, Codable, Comparable {
    case warning
    case critical

    public static func < (a: Severity, b: Severity) -> Bool { a == .warning && b == .critical }
}

public struct Alert: Sendable, Codable, Equatable {
    public var id: Int64
    /// nil for a chassis-level device.
    public var slotID: Int?
    public var metricKey: String
    public var metricLabel: String
    public var severity: Severity
    public var message: String
    public var value: Double?
    public var raisedAt: Double
    public var clearedAt: Double?
    public var acknowledgedAt: Double?
    public var acknowledgedBy: String?
    /// What the acknowledger said, and until when the acknowledgement holds (then the alert is
    /// new again, and notified again).
    public var acknowledgedComment: String?
    public var acknowledgedUntil: Double?

    /// The alert log keeps every open alert and this many newest alerts besides, none that
    /// closed more than `keptSeconds` before the newest was raised.
    public static let recordsMax = 2_000
    public static let keptSeconds = 90 * 86_400.0

    public init(id: Int64, slotID: Int?, metricKey: String, metricLabel: String, severity: Severity, message: String,
                value: Double?, raisedAt: Double, clearedAt: Double?, acknowledgedAt: Double?, acknowledgedBy: String?,
                acknowledgedComment: String? = nil, acknowledgedUntil: Double? = nil) {
        self.id = id
        self.slotID = slotID
        self.metricKey = metricKey
        self.metricLabel = metricLabel
        self.severity = severity
        self.message = message
        self.value = value
        self.raisedAt = raisedAt
        self.clearedAt = clearedAt
        self.acknowledgedAt = acknowledgedAt
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgedComment = acknowledgedComment
        self.acknowledgedUntil = acknowledgedUntil
    }
}

/// Whether the engine is still updating the store. The web app says "stale since T" instead of
/// showing old values as current.
public struct EngineFreshness: Sendable, Codable, Equatable {
    /// Last time the engine wrote its heartbeat row (wall clock).
    public var updatedAt: Double?
    public var stale: Bool

    public init(updatedAt: Double?, stale: Bool) {
        self.updatedAt = updatedAt
        self.stale = stale
    }
}

/// One point of a metric's history: raw samples have min == mean == max.
public struct HistoryPoint: Sendable, Codable, Equatable {
    public var time: Double
    public var min: Double
    public var mean: Double
    public var max: Double

    public init(time: Double, min: Double, mean: Double, max: Double) {
        self.time = time
        self.min = min
        self.mean = mean
        self.max = max
    }
}

/// This blade's own view, served at `/api/v1/local` and never redirected.
public struct LocalView: Sendable, Codable, Equatable {
    public var blade: String
    public var address: String
    public var slotID: Int
    /// `active`, `standby`, `candidate`, `witness` or `unknown` (engine not publishing).
    public var role: ManagerRole
    public var term: UInt64
    /// Address of the active manager this blade knows of, if any.
    public var activeAddress: String?
    public var activeURL: String?
    /// Whether this blade may answer as active manager right now: role is active and the lease
    /// deadline on the host's monotonic clock has not passed.
    public var leaseValid: Bool
    public var engine: EngineFreshness

    public init(blade: String, address: String, slotID: Int, role: ManagerRole, term: UInt64, activeAddress: String?,
                activeURL: String?, leaseValid: Bool, engine: EngineFreshness) {
        self.blade = blade
        self.address = address
        self.slotID = slotID
        self.role = role
        self.term = term
        self.activeAddress = activeAddress
        self.activeURL = activeURL
        self.leaseValid = leaseValid
        self.engine = engine
    }
}
