import Control
import Foundation
import Model
import Testing
@testable import Web

/// The threshold rules: listed for the staff, changed by operators from the page's forms.
@Suite struct ThresholdsTests {
    @Test func theAPIListsEveryRuleAsItTakesThem() throws {
        let response = try Fixture.app().get("/api/v1/thresholds", MemoryStateSource(), as: .session(.viewer))
        #expect(response.status == 200)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let rules = try #require(object["thresholds"] as? [[String: Any]])
        #expect(rules.count == 2)
        #expect(rules[0]["id"] as? Int == 3)
        #expect((rules[0]["scope"] as? [String: Int]) == ["slot": 2])
        #expect((rules[0]["limits"] as? [String: Double]) == ["highWarning": 80, "highCritical": 95])
        #expect(rules[1]["scope"] as? String == "global")
        #expect(rules[1]["metricKey"] as? String == "fs.*")
    }

    @Test(arguments: [Credential.session(.customer), .token(.customer)])
    func customersSeeNoRules(credential: Credential) throws {
        #expect(try Fixture.app().get("/api/v1/thresholds", MemoryStateSource(), as: credential).status == 403)
        #expect(try Fixture.app().get("/thresholds", MemoryStateSource(), as: credential).status == 403)
    }

    @Test func aViewerSeesTheRulesAndNoForms() throws {
        let page = try Fixture.app().get("/thresholds", MemoryStateSource(), as: .session(.viewer))
        #expect(page.status == 200)
        #expect(page.bodyText.contains("hwmon.coretemp-isa-0000.temp1") && page.bodyText.contains("slot 2"))
        #expect(!page.bodyText.contains("name=\"action\""))
    }

    @Test func anOperatorSetsAndRemovesARuleFromTheForm() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let page = app.get("/thresholds", MemoryStateSource(), as: .session(.operator))
        #expect(page.bodyText.contains("name=\"action\" value=\"set\""))
        let form = "action=set&metricKey=cpu.total.utilisation&scopeKind=slot&scopeValue=3&highWarning=85&highCritical=95.5&hysteresis=2"
        let saved = app.handle(app.request("POST", "/thresholds", as: .session(.operator), body: form,
                                           headers: ["Content-Type": "application/x-www-form-urlencoded", "Origin": Fixture.origin]),
                               source: MemoryStateSource())
        #expect(saved.status == 200, "\(saved.bodyText)")
        #expect(saved.bodyText.contains("saved"))
        let removed = app.handle(app.request("POST", "/thresholds", as: .session(.operator), body: "action=remove&id=3",
                                             headers: ["Content-Type": "application/x-www-form-urlencoded", "Origin": Fixture.origin]),
                                 source: MemoryStateSource())
        #expect(removed.status == 200)
        #expect(control.requests == [
            .setThreshold(ThresholdRule(scope: .slot(3), metricKey: "cpu.total.utilisation",
                                        limits: Limits(lowCritical: nil, lowWarning: nil, highWarning: 85, highCritical: 95.5),
                                        hysteresis: 2)),
            .removeThreshold(id: 3),
        ])
    }

    /// Bad input names the field and sends nothing to the engine.
    @Test(arguments: [
        ("action=set&metricKey=x&highWarning=90&highCritical=80", "ordered"),
        ("action=set&metricKey=x&highWarning=ninety", "highWarning must be a number"),
        ("action=set&metricKey=x&highWarning=nan", "highWarning must be a number"),
        ("action=set&metricKey=&highWarning=1", "metricKey"),
        ("action=set&metricKey=x&scopeKind=slot&scopeValue=two&highWarning=1", "slot must be a number"),
        ("action=set&metricKey=x&scopeKind=galaxy&highWarning=1", "scope must be"),
        ("action=set&metricKey=x", "at least one limit"),
        ("action=remove&id=-1", "name the rule"),
        ("action=explode", "unknown action"),
    ])
    func badFormsAreRefusedWithTheReason(body: String, fragment: String) throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let response = app.handle(app.request("POST", "/thresholds", as: .session(.operator), body: body,
                                              headers: ["Content-Type": "application/x-www-form-urlencoded", "Origin": Fixture.origin]),
                                  source: MemoryStateSource())
        #expect(response.status == 400, "\(body)")
        #expect(response.bodyText.contains(fragment), "\(body): \(response.bodyText.prefix(0))")
        #expect(control.requests.isEmpty)
    }
}
