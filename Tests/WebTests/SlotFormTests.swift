import Control
import Foundation
import Model
import Testing
@testable import Web

/// The slot's form on its module page: operators name a slot and set its module type.
@Suite struct SlotFormTests {
    static let page = "/chassis/\(Fixture.chassisID)/slots/2"

    func post(_ app: WebApp, _ body: String, as credential: Credential = .session(.operator)) -> Response {
        app.handle(app.request("POST", Self.page, as: credential, body: body,
                               headers: ["Content-Type": "application/x-www-form-urlencoded", "Origin": Fixture.origin]),
                   source: MemoryStateSource())
    }

    @Test func anOperatorSeesTheFormAndAViewerDoesNot() throws {
        let app = try Fixture.app()
        #expect(app.get(Self.page, MemoryStateSource(), as: .session(.operator)).bodyText.contains("data-slot-form"))
        #expect(!app.get(Self.page, MemoryStateSource(), as: .session(.viewer)).bodyText.contains("data-slot-form"))
        #expect(post(app, "name=x", as: .session(.viewer)).status == 403)
    }

    @Test func theFormSetsTheNameAndType() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let response = post(app, "name=Web+front+end&role=blade&function=web&expectedModel=CM-Blade+2000")
        #expect(response.status == 200)
        #expect(response.bodyText.contains("Slot 2 saved."))
        #expect(control.requests == [.setSlot(slotID: 2, name: "Web front end",
                                              moduleType: ModuleType(role: "blade", function: "web", expectedModel: "CM-Blade 2000"))])
    }

    @Test(arguments: [
        ("name=x&role=", "role must not be empty"),
        ("name=x&role=" + String(repeating: "r", count: 65), "role is longer than 64 bytes"),
        ("name=" + String(repeating: "n", count: 129) + "&role=blade", "name is longer than 128 bytes"),
        ("name=%0Abad&role=blade", "control character"),
    ])
    func badFormsSayWhy(body: String, fragment: String) throws {
        let control = RecordingControl()
        let response = post(try Fixture.app(control: control), body)
        #expect(response.status == 400, "\(body)")
        #expect(response.bodyText.contains(fragment), "\(body)")
        #expect(control.requests.isEmpty)
    }
}
