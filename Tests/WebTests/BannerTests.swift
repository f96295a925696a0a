import Foundation
import Model
import Testing
@testable import Web

/// The alert banner: counts per severity, the newest alert, a link to the log, and a slot's
/// several alerts grouped in one row that opens on demand, with every limit holding.
@Suite struct BannerTests {
    static func alert(_ id: Int64, slot: Int?, _ severity: Severity, raisedAgo: Double, cleared: Bool = false,
                      acknowledged: Bool = false) -> Alert {
        Alert(id: id, slotID: slot, metricKey: "hwmon.coretemp-isa-0000.temp\(id)", metricLabel: "Core \(id)",
              severity: severity, message: "core \(id) hot", value: 90,
              raisedAt: Fixture.now - raisedAgo, clearedAt: cleared ? Fixture.now - 5 : nil,
              acknowledgedAt: acknowledged ? Fixture.now - 1 : nil, acknowledgedBy: acknowledged ? "ops" : nil)
    }

    /// Five warnings raised together on slot 2, a critical on slot 3 and a chassis alert that
    /// cleared without being acknowledged; an acknowledged one that the banner leaves out.
    static func snapshot() -> ChassisSnapshot {
        var snapshot = Fixture.snapshot()
        snapshot.alerts = (1...5).map { alert(Int64($0), slot: 2, .warning, raisedAgo: 60) }
            + [alert(6, slot: 3, .critical, raisedAgo: 30), alert(7, slot: nil, .warning, raisedAgo: 600, cleared: true),
               alert(8, slot: 1, .critical, raisedAgo: 10, acknowledged: true)]
        return snapshot
    }

    @Test func countsPerSeverityTheNewestAndOneRowAPlace() throws {
        let banner = ViewBuilder.banner(Self.snapshot(), limits: WebLimits())
        #expect(banner.any && banner.critical)
        #expect(banner.heading == "7 new alerts")
        #expect(banner.counts == "1 critical · 5 warnings · 1 cleared")
        #expect(banner.newest?.id == "6")
        #expect(banner.logHref == "/alerts")
        // Raised before cleared, critical before warning: slot 3's critical, slot 2's group, the chassis.
        #expect(banner.rows.map(\.key) == ["slot-3", "slot-2", "chassis"])
        #expect(banner.rows[0].single?.id == "6" && banner.rows[0].group == nil)
        let group = try #require(banner.rows[1].group)
        #expect(banner.rows[1].single == nil)
        #expect(group.place == "Slot 2 · " + Fixture.hostileName)
        #expect(group.counts == "5 warnings" && group.severity == "warning" && group.severityText == "Warning")
        #expect(group.items.map(\.id) == ["5", "4", "3", "2", "1"])
        #expect(group.more == nil && group.logHref == "/alerts?slot=2")
        #expect(banner.rows[2].single?.cleared == true)
        #expect(banner.more == nil)
    }

    @Test func aSingleAlertIsTheWholeBanner() {
        var snapshot = Fixture.snapshot()
        snapshot.alerts = [Self.alert(1, slot: 2, .warning, raisedAgo: 60)]
        let banner = ViewBuilder.banner(snapshot, limits: WebLimits())
        #expect(banner.heading == "1 new alert" && banner.counts == "1 warning")
        #expect(banner.newest == nil)
        #expect(banner.rows.count == 1 && banner.rows[0].single?.id == "1")
    }

    @Test func noNewAlertNoBanner() {
        var snapshot = Fixture.snapshot()
        snapshot.alerts = [Self.alert(1, slot: 2, .warning, raisedAgo: 60, acknowledged: true)]
        let banner = ViewBuilder.banner(snapshot, limits: WebLimits())
        #expect(!banner.any && banner.rows.isEmpty && banner.counts.isEmpty && banner.newest == nil)
        #expect(!ViewBuilder.banner(nil, limits: WebLimits()).any)
    }

    @Test func aGroupsWorstRaisedSeverityColoursIt() throws {
        var snapshot = Fixture.snapshot()
        snapshot.alerts = [Self.alert(1, slot: 4, .critical, raisedAgo: 60, cleared: true),
                           Self.alert(2, slot: 4, .warning, raisedAgo: 50), Self.alert(3, slot: 4, .critical, raisedAgo: 40)]
        let group = try #require(ViewBuilder.banner(snapshot, limits: WebLimits()).rows.first?.group)
        #expect(group.severity == "critical" && group.counts == "1 critical · 1 warning · 1 cleared")
        snapshot.alerts = [Self.alert(1, slot: 4, .critical, raisedAgo: 60, cleared: true),
                           Self.alert(2, slot: 4, .warning, raisedAgo: 50)]
        let warned = try #require(ViewBuilder.banner(snapshot, limits: WebLimits()).rows.first?.group)
        #expect(warned.severity == "warning" && warned.counts == "1 warning · 1 cleared")
    }

    /// Many places and many alerts in one place: the rows and each group's list stop at their
    /// limits, and what is left out is counted.
    @Test func rowsAndGroupsStopAtTheirLimits() throws {
        var snapshot = Fixture.snapshot()
        snapshot.alerts = (1...12).map { Self.alert(Int64($0), slot: 2, .warning, raisedAgo: Double(100 - $0)) }
            + (1...8).map { Self.alert(Int64(100 + $0), slot: $0 == 2 ? 9 : $0, .warning, raisedAgo: 1_000) }
        let limits = WebLimits(bannerRowsMax: 3, bannerGroupAlertsMax: 4)
        let banner = ViewBuilder.banner(snapshot, limits: limits)
        #expect(banner.rows.count == 3)
        let group = try #require(banner.rows.first?.group)
        #expect(group.items.count == 4 && group.items.first?.id == "12")
        #expect(group.more == "and 8 more")
        // Slot 2's twelve and two single places shown; the other six places' alerts counted.
        #expect(banner.more == "and 6 more")
        #expect(banner.heading == "20 new alerts")
    }

    /// The page: counts, the newest, the log, and the group as a <details> whose alerts each keep
    /// their acknowledge form; a viewer gets no form; the banner keeps its live region.
    @Test func thePageGroupsASlotsAlertsInDetails() throws {
        let source = MemoryStateSource(snapshot: Self.snapshot())
        let html = try Fixture.app().get("/", source).bodyText
        #expect(html.contains("id=\"alert-banner\" class=\"banner banner-critical\""))
        #expect(html.contains("aria-live=\"polite\""))
        #expect(html.contains("data-banner-heading>7 new alerts</h2>"))
        #expect(html.contains("data-banner-counts>1 critical · 5 warnings · 1 cleared</span>"))
        #expect(html.contains("<a class=\"banner-log\" href=\"/alerts\">Alert log</a>"))
        #expect(html.contains("data-banner-newest data-alert-id=\"6\">"))
        #expect(html.contains("data-banner-group=\"slot-2\""))
        #expect(html.contains("<span data-banner-place>Slot 2 · &lt;script&gt;alert(1)&lt;/script&gt;</span>: <span data-banner-group-counts>5 warnings</span>"))
        #expect(html.contains("href=\"/alerts?slot=2\""))
        let group = try #require(html.range(of: "data-banner-group=\"slot-2\"").map { String(html[$0.lowerBound...]) })
        let details = String(group.prefix(upTo: try #require(group.range(of: "</details>")).lowerBound))
        #expect(details.contains("<details>") && details.contains("<summary>"))
        for id in 1...5 { #expect(details.contains("action=\"/api/v1/alerts/\(id)/acknowledge\"")) }
        #expect(!html.contains("action=\"/api/v1/alerts/8/acknowledge\""))
        let viewer = try Fixture.app().get("/", source, as: .session(.viewer)).bodyText
        #expect(viewer.contains("data-banner-group=\"slot-2\"") && !viewer.contains("class=\"ack-form\""))
    }

    @Test func aPageWithoutNewAlertsHidesTheBanner() throws {
        var snapshot = Fixture.snapshot()
        snapshot.alerts = []
        let html = try Fixture.app().get("/", MemoryStateSource(snapshot: snapshot)).bodyText
        #expect(html.contains("aria-live=\"polite\" hidden>"))
        #expect(html.contains("data-banner-newest hidden>"))
        #expect(html.contains("data-banner-more hidden>"))
    }
}
