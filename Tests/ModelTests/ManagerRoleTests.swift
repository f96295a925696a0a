import Foundation
import Model
import Testing

@Suite struct ManagerRoleTests {
    @Test(arguments: ManagerRole.allCases)
    func rolesTravelAsTheirNames(role: ManagerRole) throws {
        let text = String(decoding: try JSONEncoder().encode([role]), as: UTF8.self)
        #expect(text == "[\"\(role.rawValue)\"]")
        #expect(try JSONDecoder().decode([ManagerRole].self, from: Data(text.utf8)) == [role])
    }

    /// A role another version wrote is `unknown`, never a decoding error that loses the document.
    @Test func anUnknownRoleIsUnknown() throws {
        #expect(try JSONDecoder().decode([ManagerRole].self, from: Data("[\"leader\", \"\"]".utf8)) == [.unknown, .unknown])
    }
}
