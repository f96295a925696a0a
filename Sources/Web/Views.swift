import Model

/// View models for the templates: plain strings and flags, already formatted, so the templates
/// hold no logic and every value passes through Mustache's escaping.
struct PageView {
    var title: String
    var page: String
    var pollURL: String?
    var blade: BladeView?
    var chassis: ChassisHeaderView?
    var crumbs: [CrumbView] { didSet { hasCrumbs = !crumbs.isEmpty } }
    var stale: Bool
    var staleSince: String
    var banner: BannerView
    var returnPath: String
    var footer: FooterView?
    var charts: Bool
    var overview: OverviewView?
    var module: ModuleView?
    var error: ErrorView?
    var unavailable: UnavailableView?
    /// Stored, not computed: Mustache reads views by reflection.
    var hasCrumbs = false
    /// Who is logged in (nil on the login page and for anonymous errors).
    var user: UserBarView? = nil
    /// Whether the viewer may acknowledge alerts (the banner's buttons).
    var canAcknowledge = false
    var login: LoginView? = nil
    var transfer: TransferView? = nil
    var users: UsersPageView? = nil
    var audit: AuditPageView? = nil
    var thresholds: ThresholdsPageView? = nil
    var settings: SettingsPageView? = nil
    var slotEdit: SlotEditView? = nil
    var alertLog: AlertLogPageView? = nil
    var eventLog: EventLogPageView? = nil
    var notifications: NotificationsPageView? = nil
    var manager: ManagerPageView? = nil
    /// The module page's power and identify panel.
    var power: PowerPanelView? = nil
    /// The site page, and the page that carries a login to another chassis of the site.
    var site: SitePageView? = nil
    var siteOpen: SiteOpenView? = nil
}

/// The slot's form on its module page (for operators).
struct SlotEditView {
    var canEdit: Bool
    var notice: String? = nil
    var problem: String? = nil
    var name = ""
    var role = ""
    var function = ""
    var expectedModel = ""
    var affinityOptions: [OptionView] = []
    /// The serial of a module that waits for approval (`slot+serial`), when one does.
    var awaitingSerial: String? = nil
    var approvedSerial = ""
}

struct UserBarView {
    var name: String
    var role: String
    var admin: Bool
    /// Admins, operators and viewers (not customers).
    var staff: Bool
    /// The staff of a chassis that lists other chassis of its site: the Site link.
    var site = false
}

struct BladeView {
    var name: String
    var address: String
    var role: String
    var active: Bool
}

struct ChassisHeaderView {
    var chassisID: String
    var name: String
    var site: String?
    var location: String?
    var status: String
    var statusText: String
}

struct CrumbView {
    var text: String
    var href: String?
    var current: Bool
}

struct FooterView {
    var dataVersion: String
    var generatedAt: String
}

/// The alert banner on every page: how many new alerts of each severity, the newest one, and one
/// row per place (a slot, or the chassis), so that five alerts raised together on one slot take
/// one line ("Slot 2: 5 warnings") that expands on demand, and the banner never fills a phone's
/// first screen.
struct BannerView {
    var any: Bool
    var critical: Bool
    /// `3 new alerts`.
    var heading: String
    /// Counts per severity of the conditions still raised, then of those already cleared:
    /// `2 critical · 5 warnings · 1 cleared`.
    var counts: String
    /// The alert raised last, when there is more than one (a single alert is the whole list).
    var newest: AlertView?
    /// At most `WebLimits.bannerRowsMax` rows, in the order of their first alert.
    var rows: [BannerRowView]
    /// The alerts of the places left out, counted: `and 4 more`.
    var more: String?
    /// The alert log, where every alert is.
    var logHref = "/alerts"
}

/// One place's new alerts: one alert as it is, several as a group.
struct BannerRowView {
    /// `slot-2` or `chassis`: the page's script keeps an opened group open across its updates.
    var key: String
    var single: AlertView?
    var group: BannerGroupView?
}

/// Several new alerts of one place, one line until opened (`<details>`, no script needed).
struct BannerGroupView {
    var place: String
    /// The worst severity still raised (or, all cleared, the first alert's): the badge's colour.
    var severity: String
    var severityText: String
    /// `5 warnings`, `1 critical · 4 warnings`.
    var counts: String
    /// At most `WebLimits.bannerGroupAlertsMax` alerts.
    var items: [AlertView]
    /// The alerts of the group left out, counted: `and 3 more`.
    var more: String?
    /// The alert log of this place (`/alerts?slot=2`).
    var logHref: String
}

struct AlertView {
    var id: String
    var severity: String
    var severityText: String
    var place: String
    var href: String?
    var label: String
    var message: String
    var value: String?
    var raised: String
    var raisedISO: String
    var cleared: Bool
    var clearedAt: String
    var acknowledged: Bool
    var acknowledgedText: String
    /// Raised in a slot (or chassis) under maintenance now: shown, its notifications held.
    var inMaintenance = false
}

struct MetricRowView {
    var key: String
    var label: String
    var unit: String
    var value: String
    var status: String
    var statusText: String
    var lowCritical: String
    var lowWarning: String
    var highWarning: String
    var highCritical: String
    var sampledAt: String
    var sampledAtISO: String
    var source: String
    var metricClass: String
    /// Where the limits come from (`libsensors`, `slot 2 rule 7`), or a dash.
    var rule: String = "—"
}

struct OverviewView {
    var slotColumnsClass: String
    var front: [FrontSlotView]
    var summary: String
    var site: String?
    var location: String?
    var tree: [TreeSlotView]
    var chassisMetrics: [MetricRowView]
    var hasChassisMetrics: Bool
    var alerts: [AlertView]
    var hasAlerts: Bool
}

struct FrontSlotView {
    var slotID: String
    var name: String?
    var model: String?
    var status: String
    var statusText: String
    var href: String?
    var empty: Bool
    var ariaLabel: String
    /// The slot's identify LED is lit (an operator asked): shown blinking on the front view.
    var identify = false
}

struct TreeSlotView {
    var slotID: String
    var name: String?
    var status: String
    var statusText: String
    var href: String?
    var role: String?
    var module: TreeModuleView?
    var empty: Bool
}

struct TreeModuleView {
    var model: String
    var serial: String
    var components: [TreeComponentView]
}

struct TreeComponentView {
    var name: String
    var kind: String
    var status: String
    var statusText: String
    var href: String
    var count: String
}

struct ModuleView {
    var slotID: String
    var name: String?
    var status: String
    var statusText: String
    var role: String?
    var function: String?
    var expectedModel: String?
    /// `slot+serial` when the slot holds only approved modules (nil: `slot`, the default).
    var affinity: String? = nil
    var approvedSerial: String? = nil
    var modelMismatch: Bool
    var lastReport: String
    var downSince: String?
    var identity: IdentityView?
    var history: [HistoryRowView]
    var groups: [ComponentGroupView]
    var charts: [ChartView]
    var hasCharts: Bool
    var hasGroups: Bool
}

struct IdentityView {
    var serial: String
    var model: String
    var revision: String
    var manufacturer: String
    var macAddresses: [String]
    var ipAddresses: [String]
    var installedAt: String
    var installedAtISO: String
}

struct HistoryRowView {
    var serial: String
    var model: String
    var revision: String
    var installedAt: String
    var removedAt: String
    var current: Bool
}

struct ComponentGroupView {
    var name: String
    var kind: String
    var anchor: String
    var status: String
    var statusText: String
    var rows: [MetricRowView]
}

struct ChartView {
    var id: String
    var title: String
    var unit: String
    var unitSymbol: String
    var series: [ChartSeriesView]
    /// The limits every series of the chart shares, drawn as lines (empty when they differ or there are none).
    var limits: [ChartLimitView] = []
}

struct ChartLimitView {
    var name: String
    var value: String
}

struct ChartSeriesView {
    var key: String
    var label: String
}

struct ErrorView {
    var status: String
    var heading: String
    var message: String
}

struct UnavailableView {
    var reason: String
    var blade: String
    var refreshSeconds: String
}

/// Mustache renders a section for any string, even an empty one: absent text is nil instead.
func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }

/// Builds view models from the model.
enum ViewBuilder {
    static func chassisPath(_ chassisID: String) -> String {
        "/chassis/" + URLCoding.encodeComponent(chassisID)
    }

    static func slotPath(_ chassisID: String, _ slotID: Int) -> String {
        chassisPath(chassisID) + "/slots/" + String(slotID)
    }

    static func blade(_ local: LocalView?) -> BladeView? {
        guard let local else { return nil }
        return BladeView(name: local.blade, address: local.address, role: local.role.rawValue, active: RedirectRule.isActive(local))
    }

    static func chassisHeader(_ info: ChassisInfo) -> ChassisHeaderView {
        ChassisHeaderView(chassisID: info.chassisID, name: info.name.isEmpty ? info.chassisID : info.name,
                          site: nonEmpty(info.site), location: nonEmpty(location(info)), status: info.status.rawValue,
                          statusText: Format.statusText(info.status))
    }

    static func location(_ info: ChassisInfo) -> String {
        var parts: [String] = []
        if !info.row.isEmpty { parts.append("row " + info.row) }
        if !info.rack.isEmpty { parts.append("rack " + info.rack) }
        if !info.shelf.isEmpty { parts.append("shelf " + info.shelf) }
        return parts.joined(separator: " · ")
    }

    /// New conditions are those not yet acknowledged, raised or already cleared; raised first,
    /// then critical before warning, then newest first.
    static func newAlerts(_ alerts: [Alert]) -> [Alert] {
        alerts.filter { $0.acknowledgedAt == nil }.sorted { a, b in
            if (a.clearedAt == nil) != (b.clearedAt == nil) { return a.clearedAt == nil }
            if a.severity != b.severity { return a.severity > b.severity }
            if a.raisedAt != b.raisedAt { return a.raisedAt > b.raisedAt }
            return a.id > b.id
        }
    }

    static func banner(_ snapshot: ChassisSnapshot?, limits: WebLimits) -> BannerView {
        guard let snapshot else {
            return BannerView(any: false, critical: false, heading: "", counts: "", newest: nil, rows: [], more: nil)
        }
        let fresh = newAlerts(snapshot.alerts)
        let places = placeGroups(fresh)
        let shown = places.prefix(limits.bannerRowsMax)
        let rows = shown.map { place -> BannerRowView in
            let key = place.slotID.map { "slot-\($0)" } ?? "chassis"
            guard place.alerts.count > 1, let first = place.alerts.first else {
                return BannerRowView(key: key, single: place.alerts.first.map { alert(snapshot, $0) }, group: nil)
            }
            let severity = place.alerts.first(where: { $0.clearedAt == nil })?.severity ?? first.severity
            let items = place.alerts.prefix(limits.bannerGroupAlertsMax).map { alert(snapshot, $0) }
            let left = place.alerts.count - items.count
            return BannerRowView(key: key, single: nil, group: BannerGroupView(
                place: alert(snapshot, first).place, severity: severity.rawValue, severityText: severityText(severity),
                counts: counts(place.alerts), items: Array(items), more: left > 0 ? "and \(left) more" : nil,
                logHref: "/alerts" + (place.slotID.map { "?slot=\($0)" } ?? "")))
        }
        let left = places.dropFirst(shown.count).reduce(0) { $0 + $1.alerts.count }
        let critical = fresh.contains { $0.severity == .critical && $0.clearedAt == nil }
        let heading = fresh.count == 1 ? "1 new alert" : "\(fresh.count) new alerts"
        let newest = fresh.count > 1 ? fresh.max { a, b in (a.raisedAt, a.id) < (b.raisedAt, b.id) } : nil
        return BannerView(any: !fresh.isEmpty, critical: critical, heading: heading, counts: counts(fresh),
                          newest: newest.map { alert(snapshot, $0) }, rows: rows, more: left > 0 ? "and \(left) more" : nil)
    }

    /// New alerts by place (a slot, or the chassis for its own devices), each place where its first
    /// alert is in `alerts`, its alerts in the order they are given.
    static func placeGroups(_ alerts: [Alert]) -> [(slotID: Int?, alerts: [Alert])] {
        var groups: [(slotID: Int?, alerts: [Alert])] = []
        var index: [Int?: Int] = [:]
        for alert in alerts {
            if let at = index[alert.slotID] {
                groups[at].alerts.append(alert)
            } else {
                index[alert.slotID] = groups.count
                groups.append((alert.slotID, [alert]))
            }
        }
        return groups
    }

    /// `2 critical · 5 warnings · 1 cleared`: the conditions still raised by severity, then those
    /// that cleared without being acknowledged.
    static func counts(_ alerts: [Alert]) -> String {
        let raised = alerts.filter { $0.clearedAt == nil }
        let critical = raised.filter { $0.severity == .critical }.count
        let warning = raised.count - critical
        let cleared = alerts.count - raised.count
        var parts: [String] = []
        if critical > 0 { parts.append("\(critical) critical") }
        if warning > 0 { parts.append(warning == 1 ? "1 warning" : "\(warning) warnings") }
        if cleared > 0 { parts.append("\(cleared) cleared") }
        return parts.joined(separator: " · ")
    }

    static func severityText(_ severity: Severity) -> String {
        severity == .critical ? "Critical" : "Warning"
    }

    static func alert(_ snapshot: ChassisSnapshot, _ alert: Alert) -> AlertView {
        var place = "Chassis"
        var href: String?
        if let slotID = alert.slotID {
            let name = snapshot.slots.first(where: { $0.slotID == slotID })?.name ?? ""
            place = "Slot \(slotID)" + (name.isEmpty ? "" : " · " + name)
            href = slotPath(snapshot.chassis.chassisID, slotID)
        }
        let unit = metricUnit(snapshot, slotID: alert.slotID, key: alert.metricKey)
        var view = AlertView(
            id: String(alert.id), severity: alert.severity.rawValue,
            severityText: severityText(alert.severity),
            place: place, href: href, label: alert.metricLabel, message: alert.message,
            value: alert.value.map { Format.value($0, text: nil, fault: nil, unit: unit) },
            raised: Format.time(alert.raisedAt), raisedISO: Format.isoTime(alert.raisedAt),
            cleared: alert.clearedAt != nil, clearedAt: Format.time(alert.clearedAt),
            acknowledged: alert.acknowledgedAt != nil,
            acknowledgedText: alert.acknowledgedAt.map {
                "by \(alert.acknowledgedBy ?? "?") at \(Format.time($0))"
                    + (alert.acknowledgedUntil.map { " until \(Format.time($0))" } ?? "")
                    + (alert.acknowledgedComment.map { ": \($0)" } ?? "")
            } ?? "")
        view.inMaintenance = alert.clearedAt == nil && (snapshot.maintenance ?? []).covers(slotID: alert.slotID, at: snapshot.generatedAt)
        return view
    }

    static func metricUnit(_ snapshot: ChassisSnapshot, slotID: Int?, key: String) -> String {
        let metrics = slotID.flatMap { id in snapshot.slots.first(where: { $0.slotID == id })?.metrics } ?? snapshot.chassisMetrics
        return metrics.first(where: { $0.descriptor.key == key })?.descriptor.unit ?? ""
    }

    static func row(_ metric: MetricValue) -> MetricRowView {
        let unit = metric.descriptor.unit
        return MetricRowView(
            key: metric.descriptor.key, label: metric.descriptor.label, unit: unit,
            value: Format.value(metric.value, text: metric.text, fault: metric.fault, unit: unit),
            status: metric.status.rawValue, statusText: Format.statusText(metric.status),
            lowCritical: Format.limit(metric.thresholds.lowCritical, unit: unit),
            lowWarning: Format.limit(metric.thresholds.lowWarning, unit: unit),
            highWarning: Format.limit(metric.thresholds.highWarning, unit: unit),
            highCritical: Format.limit(metric.thresholds.highCritical, unit: unit),
            sampledAt: Format.time(metric.sampledAt), sampledAtISO: Format.isoTime(metric.sampledAt),
            source: metric.descriptor.source, metricClass: metric.descriptor.metricClass.rawValue,
            rule: metric.thresholdSource ?? "—")
    }

    /// The limits all `metrics` share, for the lines of their chart.
    static func sharedLimits(_ metrics: [MetricValue]) -> [ChartLimitView] {
        guard let first = metrics.first?.thresholds, metrics.allSatisfy({ $0.thresholds == first }) else { return [] }
        return [("lowCritical", first.lowCritical), ("lowWarning", first.lowWarning), ("highWarning", first.highWarning),
                ("highCritical", first.highCritical)].compactMap { name, value in
            value.map { ChartLimitView(name: name, value: "\($0)") }
        }
    }

    static func kindText(_ group: SamplingGroup) -> String {
        switch group {
        case .cpu: return "CPU"
        case .memory: return "Memory"
        case .disk: return "Storage"
        case .network: return "Network interface"
        case .sensors: return "Sensor chip"
        case .system: return "System"
        case .identification: return "Identification"
        }
    }

    /// Components in the order an operator reads a module: CPU, memory, storage, network, sensors.
    static func components(_ metrics: [MetricValue]) -> [(name: String, group: SamplingGroup, metrics: [MetricValue])] {
        var order: [String] = []
        var byName: [String: [MetricValue]] = [:]
        // node_exporter's raw counters are for Prometheus: the page shows their rates.
        for metric in metrics where metric.descriptor.component != MetricDescriptor.countersComponent {
            let name = metric.descriptor.component.isEmpty ? "other" : metric.descriptor.component
            if byName[name] == nil { order.append(name) }
            byName[name, default: []].append(metric)
        }
        let rank: [SamplingGroup: Int] = [.cpu: 0, .memory: 1, .disk: 2, .network: 3, .sensors: 4, .system: 5, .identification: 6]
        return order.map { name in (name, byName[name]![0].descriptor.group, byName[name]!) }
            .sorted { a, b in
                let ra = rank[a.group] ?? 9, rb = rank[b.group] ?? 9
                return ra != rb ? ra < rb : a.name < b.name
            }
    }

    static func worst(_ metrics: [MetricValue]) -> Status {
        metrics.map(\.status).max() ?? .unknown
    }

    /// The overview of the chassis; with `visibleSlots` (a customer's scope) only those slots are
    /// drawn, so that no other slot appears, not even as empty.
    static func overview(_ snapshot: ChassisSnapshot, visibleSlots: [Int]? = nil) -> OverviewView {
        let chassisID = snapshot.chassis.chassisID
        let slotCount = max(snapshot.chassis.slotCount, snapshot.slots.map(\.slotID).max() ?? 0)
        var front: [FrontSlotView] = []
        var tree: [TreeSlotView] = []
        var counts: [Status: Int] = [:]
        var empty = 0
        for slotID in visibleSlots ?? Array(stride(from: 1, through: max(slotCount, 1), by: 1)) {
            guard let slot = snapshot.slots.first(where: { $0.slotID == slotID }) else {
                empty += 1
                front.append(FrontSlotView(slotID: String(slotID), name: nil, model: nil, status: "empty", statusText: "Empty",
                                           href: nil, empty: true, ariaLabel: "Slot \(slotID): empty"))
                tree.append(TreeSlotView(slotID: String(slotID), name: nil, status: "empty", statusText: "Empty", href: nil,
                                         role: nil, module: nil, empty: true))
                continue
            }
            let href = slotPath(chassisID, slotID)
            let isEmpty = slot.module == nil
            if isEmpty { empty += 1 } else { counts[slot.status, default: 0] += 1 }
            let statusText = isEmpty ? "Empty" : Format.statusText(slot.status)
            front.append(FrontSlotView(
                slotID: String(slotID), name: nonEmpty(slot.name), model: slot.module.flatMap { nonEmpty($0.model) },
                status: isEmpty ? "empty" : slot.status.rawValue, statusText: statusText, href: href, empty: isEmpty,
                ariaLabel: "Slot \(slotID)" + (slot.name.isEmpty ? "" : ": " + slot.name) + ", " + statusText
                    + (slot.power?.identify == true ? ", identify LED lit" : ""), identify: slot.power?.identify == true))
            var module: TreeModuleView?
            if let info = slot.module {
                let components = components(slot.metrics).filter { $0.group != .identification }.map { component in
                    let status = worst(component.metrics)
                    return TreeComponentView(name: component.name, kind: kindText(component.group), status: status.rawValue,
                                             statusText: Format.statusText(status), href: href + "#" + Format.anchor(component.name),
                                             count: component.metrics.count == 1 ? "1 metric" : "\(component.metrics.count) metrics")
                }
                module = TreeModuleView(model: info.model, serial: info.serial, components: components)
            }
            tree.append(TreeSlotView(slotID: String(slotID), name: nonEmpty(slot.name), status: isEmpty ? "empty" : slot.status.rawValue,
                                     statusText: statusText, href: href, role: nonEmpty(slot.moduleType.role), module: module,
                                     empty: isEmpty))
        }
        var summary: [String] = []
        for status in Status.allCases {
            if let count = counts[status], count > 0 { summary.append("\(count) \(Format.statusText(status).lowercased())") }
        }
        if empty > 0 { summary.append("\(empty) empty") }
        let alerts = snapshot.alerts.map { alert(snapshot, $0) }
        return OverviewView(
            slotColumnsClass: "slots-\(min(max(visibleSlots?.count ?? slotCount, 1), 16))", front: front,
            summary: summary.joined(separator: " · "), site: nonEmpty(snapshot.chassis.site),
            location: nonEmpty(location(snapshot.chassis)), tree: tree,
            chassisMetrics: snapshot.chassisMetrics.map(row), hasChassisMetrics: !snapshot.chassisMetrics.isEmpty,
            alerts: alerts, hasAlerts: !alerts.isEmpty)
    }

    static func module(_ snapshot: ChassisSnapshot, slot: SlotView, limits: WebLimits) -> ModuleView {
        let groups = components(slot.metrics).map { component -> ComponentGroupView in
            let status = worst(component.metrics)
            return ComponentGroupView(name: component.name, kind: kindText(component.group), anchor: Format.anchor(component.name),
                                      status: status.rawValue, statusText: Format.statusText(status),
                                      rows: component.metrics.map(row))
        }
        var charts: [ChartView] = []
        chartLoop: for component in components(slot.metrics) where component.group != .identification {
            var byUnit: [String: [MetricValue]] = [:]
            var units: [String] = []
            for metric in component.metrics where metric.value != nil && !["text", "state"].contains(metric.descriptor.unit) {
                if byUnit[metric.descriptor.unit] == nil { units.append(metric.descriptor.unit) }
                byUnit[metric.descriptor.unit, default: []].append(metric)
            }
            for unit in units {
                let metrics = byUnit[unit]!
                var start = 0
                while start < metrics.count {
                    guard charts.count < limits.chartsMax else { break chartLoop }
                    let chunk = metrics[start..<min(start + limits.chartSeriesMax, metrics.count)]
                    let symbol = Format.unitSymbol(unit)
                    charts.append(ChartView(
                        id: "chart-\(charts.count + 1)",
                        title: component.name + (symbol.isEmpty ? "" : " (\(symbol))"),
                        unit: unit, unitSymbol: symbol,
                        series: chunk.map { ChartSeriesView(key: $0.descriptor.key, label: $0.descriptor.label) },
                        limits: Self.sharedLimits(Array(chunk))))
                    start += limits.chartSeriesMax
                }
            }
        }
        let identity = slot.module.map { info in
            IdentityView(serial: info.serial, model: info.model, revision: info.revision, manufacturer: info.manufacturer,
                         macAddresses: info.macAddresses, ipAddresses: info.ipAddresses,
                         installedAt: Format.time(info.installedAt), installedAtISO: Format.isoTime(info.installedAt))
        }
        let history = slot.history.map { info in
            HistoryRowView(serial: info.serial, model: info.model, revision: info.revision,
                           installedAt: Format.time(info.installedAt),
                           removedAt: info.removedAt.map { Format.time($0) } ?? "in service",
                           current: info.removedAt == nil && info.serial == slot.module?.serial)
        }
        let mismatch = !slot.moduleType.expectedModel.isEmpty && slot.module != nil
            && slot.module?.model != slot.moduleType.expectedModel
        var view = ModuleView(
            slotID: String(slot.slotID), name: nonEmpty(slot.name), status: slot.module == nil ? "empty" : slot.status.rawValue,
            statusText: slot.module == nil ? "Empty" : Format.statusText(slot.status),
            role: nonEmpty(slot.moduleType.role), function: nonEmpty(slot.moduleType.function),
            expectedModel: nonEmpty(slot.moduleType.expectedModel),
            modelMismatch: mismatch, lastReport: Format.time(slot.lastReportAt),
            downSince: slot.downSince.map { Format.time($0) },
            identity: identity, history: history, groups: groups, charts: charts, hasCharts: !charts.isEmpty,
            hasGroups: !groups.isEmpty)
        view.affinity = slot.affinity?.rawValue
        view.approvedSerial = slot.approvedSerial.flatMap(nonEmpty)
        return view
    }
}
