import Crypto
import Foundation
import Access
import Control
import Model
import Store
@testable import Web

/// An in-memory `StateSource`: a fixture chassis with four populated slots, an empty one,
/// hostile names and alerts; users of every role with a token each; an audit log.
final class MemoryStateSource: StateSource {
    var version = "v1"
    var current: ChassisSnapshot
    var localView: LocalView
    var clusterView: ClusterView
    var accessState: AccessSnapshot
    var auditLog: [AuditRecord] = []
    var auditQueries: [(filter: AuditFilter, limit: Int)] = []
    var snapshotReads = 0
    var accessReads = 0
    var failing = false

    init(snapshot: ChassisSnapshot = Fixture.snapshot(), local: LocalView = Fixture.local(role: .active, leaseValid: true),
         cluster: ClusterView = Fixture.cluster(), access: AccessSnapshot = Fixture.access()) {
        self.current = snapshot
        self.localView = local
        self.clusterView = cluster
        self.accessState = access
    }

    struct Broken: Error, CustomStringConvertible { var description: String { "disk I/O error" } }

    func dataVersion() throws -> String {
        if failing { throw Broken() }
        return version
    }

    func snapshot() throws -> ChassisSnapshot {
        if failing { throw Broken() }
        snapshotReads += 1
        return current
    }

    func history(slotID: Int, key: String, seconds: Double) throws -> [HistoryPoint] {
        let end = Fixture.now
        return stride(from: end - min(seconds, 60), through: end, by: 10).map {
            HistoryPoint(time: $0, min: 40, mean: 41 + ($0 - end) / 100, max: 42)
        }
    }

    func local() throws -> LocalView {
        if failing { throw Broken() }
        return localView
    }

    func cluster() throws -> ClusterView { clusterView }

    func access() throws -> AccessSnapshot {
        if failing { throw Broken() }
        accessReads += 1
        return accessState
    }

    func audit(filter: AuditFilter, limit: Int) throws -> [AuditRecord] {
        auditQueries.append((filter, limit))
        return Array(auditLog.filter { record in
            (filter.actor == nil || record.actor == filter.actor)
                && (filter.action == nil || record.action == filter.action || record.action.hasPrefix(filter.action! + "."))
        }.prefix(limit))
    }

    var rules: [ThresholdRule] = [
        ThresholdRule(id: 3, scope: .slot(2), metricKey: "hwmon.coretemp-isa-0000.temp1",
                      limits: Limits(lowCritical: nil, lowWarning: nil, highWarning: 80, highCritical: 95), hysteresis: 2),
        ThresholdRule(id: 4, scope: .global, metricKey: "fs.*", limits: Limits(lowCritical: nil, lowWarning: nil, highWarning: 90,
                                                                                  highCritical: nil)),
    ]

    func thresholds() throws -> [ThresholdRule] {
        if failing { throw Broken() }
        return rules
    }

    func alertLog(filter: AlertFilter, limit: Int) throws -> [Alert] {
        if failing { throw Broken() }
        alertLogQueries.append(filter)
        return Array(current.alerts.filter { alert in
            let place = alert.slotID.map { slot in filter.slots.map { $0.contains(slot) } ?? true } ?? filter.includeChassis
            let state = filter.state == .all || (filter.state == .open) == (alert.clearedAt == nil)
            return place && state && (filter.severity == nil || alert.severity == filter.severity)
        }.sorted { $0.id > $1.id }.prefix(limit))
    }

    var alertLogQueries: [AlertFilter] = []

    var events: [ChassisEvent] = [
        ChassisEvent(id: 1, at: 1_764_000_000, kind: .moduleInserted, severity: .info, slotID: 1, alertID: nil, metricKey: nil,
                     message: "module BX-100 SN-1 inserted"),
        ChassisEvent(id: 2, at: 1_764_000_010, kind: .alertRaised, severity: .critical, slotID: 2, alertID: 7,
                     metricKey: "cpu.usage", message: "slot 2 CPU above 95"),
        ChassisEvent(id: 3, at: 1_764_000_020, kind: .alertRaised, severity: .warning, slotID: nil, alertID: 8,
                     metricKey: "chassis.fan1", message: "chassis fan slow"),
    ]
    var eventLogQueries: [EventFilter] = []

    func eventLog(filter: EventFilter, limit: Int) throws -> [ChassisEvent] {
        if failing { throw Broken() }
        eventLogQueries.append(filter)
        return Array(events.filter { event in
            let place = event.slotID.map { slot in filter.slots.map { $0.contains(slot) } ?? true } ?? filter.includeChassis
            return place && (filter.minimumSeverity.map { event.severity >= $0 } ?? true)
        }.sorted { $0.id > $1.id }.prefix(limit))
    }

    var settings: [String: String] = ["interval_ms.cpu": "500"]

    func setting(_ key: String) throws -> String? {
        if failing { throw Broken() }
        return settings[key]
    }
}

/// Records writes instead of sending them, with who sent them; answers with a canned response or error.
final class RecordingControl: ControlSending, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [(request: ControlRequest, actor: Actor?)] = []
    var reply = ControlResponse(ok: true, id: 42)
    var error: Error?

    var requests: [ControlRequest] { sent.map(\.request) }

    var sent: [(request: ControlRequest, actor: Actor?)] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    func send(_ request: ControlRequest, actor: Actor?) throws -> ControlResponse {
        lock.lock()
        recorded.append((request, actor))
        lock.unlock()
        if let error { throw error }
        return reply
    }
}

/// Who a test request comes as.
enum Credential: Hashable, Sendable, CustomStringConvertible {
    case anonymous
    /// The browser's session cookie of the fixture's user of that role.
    case session(Role)
    /// `Authorization: Bearer` with the fixture's token of that role's user.
    case token(Role)

    var description: String {
        switch self {
        case .anonymous: return "anonymous"
        case .session(let role): return "\(role.rawValue) (session)"
        case .token(let role): return "\(role.rawValue) (token)"
        }
    }

    var role: Role? {
        switch self {
        case .anonymous: return nil
        case .session(let role), .token(let role): return role
        }
    }

    static let all: [Credential] = [.anonymous] + Role.allCases.map { .session($0) } + Role.allCases.map { .token($0) }
}

enum Fixture {
    static let now: Double = 1_764_000_000
    static let chassisID = "660007770088"
    static let hostileName = "<script>alert(1)</script>"
    static let quoteName = "O'Brien & \"Sons\""

    // MARK: Access

    static let key = SymmetricKey(data: [UInt8](repeating: 0x5A, count: 32))
    /// The Host every request names unless a test says otherwise: a member's address.
    static let host = "127.0.1.1:8080"
    /// This chassis' own pages (HTTPS off in the fixture: `http://MEMBER:8080`).
    static let origin = "http://127.0.1.1:8080"
    static let hostName = "chassis.example"
    static let password = "correct horse battery"
    static let passwordHash: String = try! PasswordHash.make(password: password, parameters: .fast)
    static let policy = SessionPolicy()
    static let userNames: [Role: String] = [.admin: "admin", .operator: "oper", .viewer: "viewer", .customer: "cust"]
    static let customerScope = AccessScope(slots: [2, 3])
    static let tokens: [Role: APIToken.Minted] = {
        var random = SystemRandomNumberGenerator()
        var out: [Role: APIToken.Minted] = [:]
        for role in Role.allCases { out[role] = APIToken.mint(using: &random) }
        return out
    }()

    static func userName(_ role: Role) -> String { userNames[role]! }

    static func user(_ role: Role, generation: Int64 = 1) -> UserRecord {
        UserRecord(name: userName(role), role: role, scope: role == .customer ? customerScope : nil, passwordHash: passwordHash,
                   generation: generation, createdAt: now - 86_400, updatedAt: now - 86_400)
    }

    static func access() -> AccessSnapshot {
        var access = AccessSnapshot()
        for role in Role.allCases {
            access.users[userName(role)] = user(role)
            let token = tokens[role]!
            access.tokens[token.id] = TokenRecord(id: token.id, user: userName(role), label: "\(role.rawValue) script",
                                                  secretHash: token.secretHash, createdAt: now - 3_600, expiresAt: nil)
        }
        return access
    }

    static func settings(hostNames: [String] = [hostName], metricsNetworks: [String] = []) -> AccessSettings {
        AccessSettings(policy: policy, hostNames: hostNames, memberAddresses: ["127.0.1.1", "127.0.1.2", "127.0.1.3"],
                       httpsPort: 0, httpPort: 8080, metricsAnonymousNetworks: metricsNetworks, passwordParameters: .fast,
                       loadKey: { key })
    }

    /// A session of the fixture's user of `role`, started and renewed at `time`.
    static func session(_ role: Role, at time: Double = now, id: String = "00112233445566778899aabbccddeeff") -> SessionToken {
        SessionToken(id: id, user: userName(role), generation: 1, startedAt: Int64(time), renewedAt: Int64(time))
    }

    static func cookie(_ token: SessionToken) -> String {
        AccessSettings.cookieName + "=" + token.encode(key: key)
    }

    static func bearer(_ role: Role) -> String { "Bearer " + tokens[role]!.text }

    /// The headers a request carries as `credential` at `time`: the Host, the credential and, for
    /// a browser's write, the page's Origin. `extra` wins over them.
    static func headers(_ credential: Credential, method: String, at time: Double = now,
                        extra: [String: String] = [:]) -> [String: String] {
        var headers = ["Host": host]
        switch credential {
        case .anonymous: break
        case .session(let role): headers["Cookie"] = cookie(session(role, at: time))
        case .token(let role): headers["Authorization"] = bearer(role)
        }
        var isToken = false
        if case .token = credential { isToken = true }
        if method != "GET" && method != "HEAD" && !isToken { headers["Origin"] = origin }
        for (name, value) in extra { headers[name] = value }
        return headers
    }

    static let templates: TemplateSet = try! TemplateSet.load(directory: templatesDirectory)

    static var templatesDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Templates").path
    }

    static func app(control: ControlSending = RecordingControl(), clock: Double = now,
                    access: AccessSettings = settings(), defaultIntervalsMs: [SamplingGroup: Int] = [:],
                    site: SiteBoard? = nil) throws -> WebApp {
        WebApp(templates: templates, limits: WebLimits(staleAfterSeconds: 10), control: control, access: access,
               defaultIntervalsMs: defaultIntervalsMs, site: site, now: { clock })
    }

    // MARK: The chassis

    static func local(role: ManagerRole, leaseValid: Bool, activeURL: String? = nil, activeAddress: String? = nil,
                      address: String = "127.0.1.1") -> LocalView {
        LocalView(blade: "blade-1", address: address, slotID: 1, role: role, term: 7, activeAddress: activeAddress,
                  activeURL: activeURL, leaseValid: leaseValid, engine: EngineFreshness(updatedAt: now - 1, stale: false))
    }

    static func cluster(active: Int? = 1, reason: String? = nil) -> ClusterView {
        let members = (1...3).map { (index: Int) -> ClusterMember in
            ClusterMember(name: "blade-\(index)", address: "127.0.1.\(index)", url: "http://127.0.1.\(index):8080",
                          slotID: index, role: index == active ? .active : .standby, lastHeardAt: now - 0.5)
        }
        return ClusterView(term: 7, active: active.map { members[$0 - 1] }, quorum: active != nil, reason: reason, members: members)
    }

    static func descriptor(_ key: String, _ label: String, unit: String, group: SamplingGroup, component: String,
                           name: String, labels: [String: String] = [:], metricClass: MetricClass = .performance,
                           limits: Limits = .none) -> MetricDescriptor {
        MetricDescriptor(key: key, label: label, metricClass: metricClass, unit: unit, source: "simulated",
                         replication: .dynamic, group: group, component: component, prometheusName: name,
                         prometheusLabels: labels, limits: limits)
    }

    static func metric(_ descriptor: MetricDescriptor, _ value: Double?, status: Status = .ok, text: String? = nil,
                       fault: String? = nil) -> MetricValue {
        MetricValue(descriptor: descriptor, value: value, text: text, fault: fault, sampledAt: now - 1,
                    thresholds: descriptor.limits, status: status,
                    thresholdSource: ThresholdEvaluator.source(of: ThresholdRule(scope: .global, metricKey: descriptor.key,
                                                                                 limits: descriptor.limits),
                                                               descriptorSource: descriptor.source))
    }

    static func bladeMetrics(temperature: Double, status: Status, chipLabel: String = "Package id 0") -> [MetricValue] {
        let tempLimits = Limits(highWarning: 80, highCritical: 95)
        return [
            metric(descriptor("cpu.total.utilisation", "CPU utilisation", unit: "percent", group: .cpu, component: "cpu",
                              name: "chassis_cpu_utilisation_ratio"), 37.5),
            metric(descriptor("memory.available_bytes", "Memory available", unit: "bytes", group: .memory, component: "memory",
                              name: "node_memory_MemAvailable_bytes"), 6_442_450_944),
            metric(descriptor("filesystem./.free_bytes", "Free space on /", unit: "bytes", group: .disk, component: "filesystem /",
                              name: "node_filesystem_free_bytes", labels: ["mountpoint": "/"]), 12_000_000_000),
            metric(descriptor("disk.sda.read_bytes_per_second", "sda read", unit: "bytes_per_second", group: .disk,
                              component: "disk sda", name: "chassis_disk_read_bytes_per_second", labels: ["device": "sda"]), 1_048_576),
            metric(descriptor("net.eth0.receive_bytes_total", "eth0 received", unit: "bytes", group: .network, component: "eth0",
                              name: "node_network_receive_bytes_total", labels: ["device": "eth0"]), 123_456_789),
            metric(descriptor("hwmon.coretemp-isa-0000.temp1", chipLabel, unit: "celsius", group: .sensors,
                              component: "coretemp-isa-0000", name: "node_hwmon_temp_celsius",
                              labels: ["chip": "coretemp-isa-0000", "sensor": "temp1"], metricClass: .health, limits: tempLimits),
                   temperature, status: status),
            metric(descriptor("hwmon.coretemp-isa-0000.temp2", "Core 0", unit: "celsius", group: .sensors,
                              component: "coretemp-isa-0000", name: "node_hwmon_temp_celsius",
                              labels: ["chip": "coretemp-isa-0000", "sensor": "temp2"], metricClass: .health, limits: tempLimits),
                   nil, status: .unknown, fault: "read failed"),
            metric(descriptor("id.serial", "Serial", unit: "text", group: .identification, component: "identification",
                              name: "", metricClass: .identification), nil, text: "SN-1"),
        ]
    }

    static func module(_ serial: String, model: String = "BL460c", installed: Double = now - 86_400 * 30,
                       removed: Double? = nil) -> ModuleInfo {
        ModuleInfo(serial: serial, model: model, revision: "G10", manufacturer: "ACME <Blades>",
                   macAddresses: ["00:11:22:33:44:55"], ipAddresses: ["127.0.1.1"], installedAt: installed, removedAt: removed)
    }

    static func slot(_ id: Int, name: String, status: Status, metrics: [MetricValue], module: ModuleInfo?,
                     history: [ModuleInfo] = [], downSince: Double? = nil) -> SlotView {
        SlotView(slotID: id, name: name, moduleType: ModuleType(role: "blade", function: "web front end", expectedModel: "BL460c"),
                 status: status, module: module, history: history.isEmpty ? module.map { [$0] } ?? [] : history,
                 metrics: metrics, lastReportAt: now - 1, downSince: downSince)
    }

    static func snapshot(stale: Bool = false, updatedAt: Double? = now - 1) -> ChassisSnapshot {
        let slots = [
            slot(1, name: "web-1", status: .ok, metrics: bladeMetrics(temperature: 45, status: .ok), module: module("SN-1")),
            slot(2, name: hostileName, status: .warning,
                 metrics: bladeMetrics(temperature: 85, status: .warning, chipLabel: "Package \"id\" 0\\n\n<b>"),
                 module: module("SN-2<x>"),
                 history: [module("SN-2<x>"), module("SN-OLD", installed: now - 86_400 * 400, removed: now - 86_400 * 31)]),
            slot(3, name: quoteName, status: .critical, metrics: bladeMetrics(temperature: 97, status: .critical),
                 module: module("SN-3", model: "DL999")),
            slot(4, name: "db-1", status: .down, metrics: bladeMetrics(temperature: 50, status: .ok), module: module("SN-4"),
                 downSince: now - 120),
            slot(5, name: "", status: .unknown, metrics: [], module: nil),
        ]
        let chassisMetrics = [
            metric(descriptor("psu.1.power", "PSU 1 output", unit: "watts", group: .sensors, component: "psu 1",
                              name: "chassis_psu_power_watts", labels: ["psu": "1"], metricClass: .health), 812.5),
            metric(descriptor("fan.1.speed", "Fan 1", unit: "rpm", group: .sensors, component: "fan tray",
                              name: "node_hwmon_fan_rpm", labels: ["fan": "1", "slot": "tray"], metricClass: .health), 5400),
        ]
        let alerts = [
            Alert(id: 11, slotID: 3, metricKey: "hwmon.coretemp-isa-0000.temp1", metricLabel: "Package id 0", severity: .critical,
                  message: "temperature above 95 °C", value: 97, raisedAt: now - 30, clearedAt: nil, acknowledgedAt: nil,
                  acknowledgedBy: nil),
            Alert(id: 10, slotID: 2, metricKey: "hwmon.coretemp-isa-0000.temp1", metricLabel: "Package id 0", severity: .warning,
                  message: "hot <b>&amp;</b>", value: 85, raisedAt: now - 60, clearedAt: nil, acknowledgedAt: nil, acknowledgedBy: nil),
            Alert(id: 9, slotID: nil, metricKey: "fan.1.speed", metricLabel: "Fan 1", severity: .warning, message: "fan slow",
                  value: 900, raisedAt: now - 3_600, clearedAt: now - 3_000, acknowledgedAt: now - 2_900, acknowledgedBy: "ops"),
        ]
        return ChassisSnapshot(
            dataVersion: "v1", generatedAt: now,
            chassis: ChassisInfo(chassisID: chassisID, name: "Rack <A> & \"B\"", site: "Zürich DC2", row: "3", rack: "12",
                                 shelf: "1", slotCount: 8, status: .critical),
            slots: slots, chassisMetrics: chassisMetrics, alerts: alerts,
            engine: EngineFreshness(updatedAt: updatedAt, stale: stale))
    }
}

extension WebApp {
    /// A request as `credential` at this app's clock (so that the session is fresh), with the
    /// Host (and, for a browser's write, the Origin) of the chassis' own pages.
    func request(_ method: String, _ target: String, as credential: Credential = .session(.admin), body: String = "",
                 headers: [String: String] = [:], remoteAddress: String = "127.0.0.1", secure: Bool = false) -> Request {
        Request(method: method, target: target,
                headers: Fixture.headers(credential, method: method.uppercased(), at: now(), extra: headers),
                body: Array(body.utf8), remoteAddress: remoteAddress, secure: secure)
    }

    /// Shorthand for tests: an admin's browser unless `credential` says otherwise.
    func get(_ target: String, _ source: StateSource, headers: [String: String] = [:],
             as credential: Credential = .session(.admin)) -> Response {
        handle(request("GET", target, as: credential, headers: headers), source: source)
    }

    func send(_ method: String, _ target: String, _ source: StateSource, body: String = "",
              headers: [String: String] = ["Content-Type": "application/json"], as credential: Credential = .session(.admin)) -> Response {
        handle(request(method, target, as: credential, body: body, headers: headers), source: source)
    }
}

extension Response {
    /// Every header line, `Name: value`, for searching.
    var headerText: String { headers.map { "\($0.0): \($0.1)" }.joined(separator: "\n") }
}
