import Foundation
import Model
import Store
import Testing
@testable import Web

/// The alert log: open and closed alerts with filters and exports, a customer's slots only.
@Suite struct AlertLogTests {
    @Test func operatorsAcknowledgeOpenAlertsFromTheLogAndViewersCannot() throws {
        let source = CustomerScopeTests.source()
        let operatorPage = try Fixture.app().get("/alerts?state=open", source, as: .session(.operator))
        #expect(operatorPage.status == 200)
        #expect(operatorPage.bodyText.contains("class=\"ack-form inline-form\""), "\(operatorPage.bodyText.prefix(3000))")
        #expect(operatorPage.bodyText.contains("name=\"comment\"") && operatorPage.bodyText.contains("<option value=\"3600\">"))
        let viewerPage = try Fixture.app().get("/alerts?state=open", source, as: .session(.viewer))
        #expect(viewerPage.status == 200 && !viewerPage.bodyText.contains("ack-form inline-form"))
    }

    @Test func theStaffReadTheWholeLog() throws {
        let source = CustomerScopeTests.source()
        let response = try Fixture.app().get("/api/v1/alerts?state=all&limit=50", source, as: .session(.viewer))
        #expect(response.status == 200)
        #expect(response.bodyText.contains("CHASSIS-ALERT") && response.bodyText.contains("ALERT-S1"))
        #expect(source.alertLogQueries == [AlertFilter(state: .all)])
    }

    @Test(arguments: ["/api/v1/alerts?state=all", "/api/v1/alerts?state=closed&format=csv", "/alerts", "/alerts?slot=1",
                      "/api/v1/alerts?slot=0", "/api/v1/alerts?slot=4&state=open"])
    func aCustomerReadsItsSlotsOnly(target: String) throws {
        let source = CustomerScopeTests.source()
        let response = try Fixture.app().get(target, source, as: .session(.customer))
        #expect(response.status == 200, "\(target)")
        let leaks = CustomerScopeTests.forbidden.filter { response.bodyText.contains($0) }
        #expect(leaks.isEmpty, "\(target) shows \(leaks)")
        #expect(!source.alertLogQueries.isEmpty, "\(target) read no alert log")
        for filter in source.alertLogQueries {
            #expect(!filter.includeChassis, "\(target)")
            #expect(filter.slots.map { Set($0).isSubset(of: [2, 3]) } ?? false, "\(target): \(filter)")
        }
    }

    @Test func theCustomersOwnAlertsAreThere() throws {
        let response = try Fixture.app().get("/api/v1/alerts?state=all", CustomerScopeTests.source(), as: .token(.customer))
        #expect(response.bodyText.contains("ALERT-S3"))
    }

    @Test(arguments: [
        ("state=gone", "state must be open, closed or all"),
        ("severity=bad", "severity must be warning or critical"),
        ("slot=x", "slot must be a number"),
        ("since=yesterday", "since must be Unix seconds"),
        ("limit=0", "limit must be between 1 and 1000"),
        ("before=-4", "before must be an alert id"),
        ("format=xml", "format must be json or csv"),
        ("state=open&state=closed", "state given more than once"),
        ("colour=red", "unknown query parameter"),
        // Found by schemathesis: an input error, not a store failure (it answered 503).
        ("text=" + String(repeating: "x", count: 129), "text is longer than 128 bytes"),
    ])
    func badQueriesSayWhy(query: String, fragment: String) throws {
        let response = try Fixture.app().get("/api/v1/alerts?" + query, CustomerScopeTests.source(), as: .session(.viewer))
        #expect(response.status == 400, "\(query)")
        #expect(response.bodyText.contains(fragment), "\(query): \(response.bodyText)")
    }

    @Test func csvHasAHeaderAndARowAnAlert() throws {
        let source = CustomerScopeTests.source()
        let response = try Fixture.app().get("/api/v1/alerts?state=all&format=csv", source, as: .session(.admin))
        #expect(response.header("Content-Type") == "text/csv; charset=utf-8")
        let lines = response.bodyText.split(separator: "\r\n")
        #expect(lines.first == Substring(AlertCSV.columns.joined(separator: ",")))
        #expect(lines.count == 1 + source.current.alerts.count)
    }

    /// Without a filter, the document a page polls (what is raised or new), as before.
    @Test func withoutAQueryTheAnswerIsThePolledDocument() throws {
        let source = CustomerScopeTests.source()
        let response = try Fixture.app().get("/api/v1/alerts", source, as: .session(.admin))
        #expect(response.bodyText.contains("\"newAlerts\""))
        #expect(source.alertLogQueries.isEmpty)
    }
}
