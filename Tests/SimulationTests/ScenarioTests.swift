import Foundation
import Simulation
import Testing

/// Runs every golden scenario in `testdata/` and compares the output. Set UPDATE_GOLDEN=1 to
/// rewrite the files from the actual output (then review the diff).
struct ScenarioTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("testdata")

    static let files: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".txt") }.sorted()
    }()

    @Test("golden scenarios exist")
    func scenariosExist() {
        #expect(Self.files.count >= 7)
    }

    @Test("golden scenario", arguments: ScenarioTests.files)
    func scenario(_ name: String) throws {
        let url = Self.directory.appendingPathComponent(name)
        let expected = try String(contentsOf: url, encoding: .utf8)
        let actual = Scenario.run(expected)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] != nil {
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        #expect(actual == expected, "scenario \(name) differs; rerun with UPDATE_GOLDEN=1 and review the diff")
        #expect(!actual.contains("VIOLATION"))
    }
}
