import Foundation
import Testing
import Model
@testable import Web

@Suite struct PagesTests {
    static let pages = ["/", "/chassis/660007770088/slots/1", "/chassis/660007770088/slots/2",
                        "/chassis/660007770088/slots/3", "/chassis/660007770088/slots/5", "/nowhere"]

    /// Hostile names render as text on every page: no tag, attribute or quote of theirs survives.
    @Test(arguments: pages)
    func hostileStringsAreEscaped(target: String) throws {
        let response = try Fixture.app().get(target, MemoryStateSource())
        let html = response.bodyText
        #expect(!html.contains("<script>alert(1)</script>"))
        #expect(!html.contains("<b>"))
        #expect(!html.contains("<A>"))
        #expect(!html.contains("O'Brien"))
        #expect(!html.contains("\"Sons\""))
        #expect(!html.contains("<x>"))
        // Every script on the page is one of ours, loaded from a file.
        let scripts = html.components(separatedBy: "<script").count - 1
        let ours = html.components(separatedBy: "<script src=\"/").count - 1
        #expect(scripts == ours)
        renderForInspection(target, html)
    }

    @Test func overviewShowsFrontTreeBannerAndNames() throws {
        let html = try Fixture.app().get("/", MemoryStateSource()).bodyText
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("O&#39;Brien &amp; &quot;Sons&quot;"))
        #expect(html.contains("Rack &lt;A&gt; &amp; &quot;B&quot;"))
        // Eight slots drawn, numbered, coloured by status; empty ones too.
        for slot in 1...8 { #expect(html.contains("data-slot=\"\(slot)\"")) }
        #expect(html.contains("class=\"slot status-critical\""))
        #expect(html.contains("class=\"slot status-down\""))
        #expect(html.contains("slot status-empty"))
        // The tree lists every slot, configured or not, and reaches components.
        for slot in 1...8 { #expect(html.contains("<span class=\"tree-kind\">Slot \(slot)</span>")) }
        #expect(html.contains("coretemp-isa-0000"))
        #expect(html.contains("filesystem /"))
        #expect(html.contains("eth0"))
        // New alerts (two unacknowledged) in the banner, each with an acknowledge form.
        #expect(html.contains("2 new alerts"))
        #expect(html.contains("action=\"/api/v1/alerts/11/acknowledge\""))
        #expect(html.contains("action=\"/api/v1/alerts/10/acknowledge\""))
        #expect(!html.contains("action=\"/api/v1/alerts/9/acknowledge\""))
        #expect(html.contains("hot &lt;b&gt;&amp;amp;&lt;/b&gt;"))
        #expect(html.contains("id=\"stale-notice\" class=\"notice notice-stale\" role=\"status\" hidden"))
    }

    @Test func modulePageShowsIdentityLimitsAndCharts() throws {
        let html = try Fixture.app().get("/chassis/660007770088/slots/2", MemoryStateSource()).bodyText
        #expect(html.contains("SN-2&lt;x&gt;"))
        #expect(html.contains("SN-OLD"))
        #expect(html.contains("ACME &lt;Blades&gt;"))
        #expect(html.contains("00:11:22:33:44:55"))
        #expect(html.contains("85.0 °C"))
        #expect(html.contains("80.0 °C"))
        #expect(html.contains("95.0 °C"))
        #expect(html.contains("fault: read failed"))
        #expect(html.contains("6.0 GiB"))
        #expect(html.contains("/javascript/chart.js/chart.min.js"))
        #expect(html.contains("<canvas"))
        #expect(html.contains("data-key=\"hwmon.coretemp-isa-0000.temp1\""))
        #expect(html.contains("data-poll=\"/api/v1/chassis/660007770088/slots/2\""))
        // Beside each reading, where its limits come from; on the chart, the limits its series share.
        #expect(html.contains("<th scope=\"col\">Limits from</th>") && html.contains("data-field=\"rule\">built-in</td>"))
        #expect(html.contains("data-limit=\"highWarning\" data-value=\"80.0\"") && html.contains("data-limit=\"highCritical\" data-value=\"95.0\""))
        #expect(html.contains("data-range=\"86400\""))
        // The banner is on this page too.
        #expect(html.contains("2 new alerts"))
    }

    @Test func expectedModelMismatchIsFlagged() throws {
        let html = try Fixture.app().get("/chassis/660007770088/slots/3", MemoryStateSource()).bodyText
        #expect(html.contains("expected BL460c"))
    }

    @Test(arguments: pages.filter { $0 != "/nowhere" })
    func staleEngineIsSaidOnEveryPage(target: String) throws {
        let app = try Fixture.app(clock: Fixture.now + 3_600)
        let html = app.get(target, MemoryStateSource()).bodyText
        #expect(html.contains("Engine stale since <span data-stale-since>2025-11-24 15:59:59 UTC</span> — values are the last known"))
        #expect(!html.contains("notice-stale\" role=\"status\" hidden"))
    }

    @Test func pagesSendASecurityPolicyThatAllowsTheMembers() throws {
        let response = try Fixture.app().get("/", MemoryStateSource())
        let policy = try #require(response.header("Content-Security-Policy"))
        #expect(policy.contains("script-src") == false)
        #expect(policy.contains("default-src 'self'"))
        #expect(policy.contains("connect-src 'self' http://127.0.1.1:8080 http://127.0.1.2:8080 http://127.0.1.3:8080"))
    }

    @Test(arguments: [
        (45.0, "celsius", "45.0 °C"), (3200.0, "rpm", "3200 RPM"), (12.05, "volts", "12.050 V"),
        (1536.0, "bytes", "1.5 KiB"), (512.0, "bytes", "512 B"), (1_048_576.0, "bytes_per_second", "1.0 MiB/s"),
        (37.25, "percent", "37.3 %"), (90_061.0, "seconds", "1 d 1 h"), (-0.04, "celsius", "0.0 °C"), (-2.5, "celsius", "-2.5 °C"), (0.5, "per_second", "0.50 /s"),
        (3.0, "count", "3"), (2.5, "widgets", "2.500 widgets"),
    ])
    func valueFormatting(value: Double, unit: String, expected: String) {
        #expect(Format.value(value, text: nil, fault: nil, unit: unit) == expected)
    }

    @Test(arguments: [(0.0, "1970-01-01 00:00:00 UTC"), (1_764_000_000.0, "2025-11-24 16:00:00 UTC"), (951_782_400.0, "2000-02-29 00:00:00 UTC")])
    func timeFormatting(seconds: Double, expected: String) {
        #expect(Format.time(seconds) == expected)
    }

    /// With `WEB_RENDER_DIR` set, pages are written there to be looked at.
    func renderForInspection(_ target: String, _ html: String) {
        guard let directory = ProcessInfo.processInfo.environment["WEB_RENDER_DIR"] else { return }
        let name = target == "/" ? "overview" : target.split(separator: "/").joined(separator: "_")
        try? html.write(toFile: directory + "/" + name + ".html", atomically: true, encoding: .utf8)
    }
}
