import Foundation
import Testing
import Access
import Config
import Model
import Plumbing
@testable import App

/// How the active manager asks another chassis of the site: which addresses, in which order,
/// and what it takes as the answer. The other chassis' blades are played by a closure that
/// answers as the web app does (sealed for the question); the real exchange runs in
/// `Tests/integration/test_site.py`.
@Suite struct SiteQuestionTests {
    static let keys = SiteKeys(root: [UInt8](repeating: 0x44, count: 32))
    static let other = BladeConfig.SiteChassis(name: "b", addresses: ["127.0.2.1", "127.0.2.2", "127.0.2.3"], port: 8080)

    /// One blade of the other chassis: who it is, and whom it names as the active manager.
    struct Blade {
        var name: String
        var active: Bool
        var activeAddress: String?
    }

    final class Recorder: @unchecked Sendable {
        var asked: [String] = []
    }

    static func fetch(_ blades: [String: Blade], keys: SiteKeys = keys, recorder: Recorder) -> SiteQuestion.Fetch {
        { host, port, path, headers, _, _ in
            recorder.asked.append(host)
            #expect(port == 8080 && path == "/api/v1/site/summary")
            guard let blade = blades[host] else { throw HTTPGet.Failure(description: "cannot reach \(host):\(port): Connection refused") }
            let header = headers.first { $0.0 == "Authorization" }?.1 ?? ""
            guard let credential = SiteCredential.verify(String(header.dropFirst(SiteCredential.scheme.count + 1)), keys: keys,
                                                         now: 1_764_000_000) else {
                return HTTPGet.Reply(status: 401, headers: [:], body: Array("{\"error\":\"no\"}".utf8))
            }
            let summary = SiteSummary(chassisID: "660007770089", name: "B", location: "", status: .ok, slots: 8, bladesUp: 3,
                                      bladesDown: 0, alertsCritical: 0, alertsWarning: 0, alertsNew: 0, answeredBy: blade.name,
                                      answeredByActive: blade.active, activeManager: nil, activeURL: nil,
                                      activeAddress: blade.activeAddress, term: 1, updatedAt: nil, stale: false)
            let sealed = try SiteSeal.seal(try JSONEncoder().encode(summary).map { $0 }, keys: keys, for: credential, answeredBy: blade.name)
            return HTTPGet.Reply(status: 200, headers: [:],
                                 body: Array("{\"answeredBy\":\"\(blade.name)\",\"sealed\":\"\(sealed)\"}".utf8))
        }
    }

    static func ask(_ blades: [String: Blade], preferred: String? = nil, keys: SiteKeys = keys, recorder: Recorder)
        -> Result<(summary: SiteSummary, address: String), SiteProblem> {
        SiteQuestion.ask(other, from: "660007770088", keys: Self.keys, preferred: preferred, timeoutMs: 100,
                         now: { 1_764_000_000 }, fetch: fetch(blades, keys: keys, recorder: recorder))
    }

    @Test func theActiveManagerNamedByAStandbyIsAskedNext() throws {
        let recorder = Recorder()
        let blades = ["127.0.2.1": Blade(name: "blade1", active: false, activeAddress: "127.0.2.3"),
                      "127.0.2.2": Blade(name: "blade2", active: false, activeAddress: "127.0.2.3"),
                      "127.0.2.3": Blade(name: "blade3", active: true, activeAddress: "127.0.2.3")]
        let answer = try Self.ask(blades, recorder: recorder).get()
        #expect(answer.address == "127.0.2.3" && answer.summary.answeredBy == "blade3")
        #expect(recorder.asked == ["127.0.2.1", "127.0.2.3"], "straight to the one named")
    }

    @Test func theAddressThatAnsweredLastIsAskedFirst() throws {
        let recorder = Recorder()
        let blades = ["127.0.2.2": Blade(name: "blade2", active: true, activeAddress: "127.0.2.2")]
        #expect(try Self.ask(blades, preferred: "127.0.2.2", recorder: recorder).get().address == "127.0.2.2")
        #expect(recorder.asked == ["127.0.2.2"])
    }

    @Test func withoutAnActiveManagerAStandbysAnswerIsTaken() throws {
        let recorder = Recorder()
        let blades = ["127.0.2.2": Blade(name: "blade2", active: false, activeAddress: nil),
                      "127.0.2.3": Blade(name: "blade3", active: false, activeAddress: nil)]
        let answer = try Self.ask(blades, recorder: recorder).get()
        #expect(answer.address == "127.0.2.2" && !answer.summary.answeredByActive)
        #expect(recorder.asked == ["127.0.2.1", "127.0.2.2", "127.0.2.3"], "every address, looking for the active one")
    }

    @Test func noAnswerSaysWhyForEveryAddress() {
        let recorder = Recorder()
        guard case .failure(let problem) = Self.ask([:], recorder: recorder) else {
            Issue.record("an answer from nowhere")
            return
        }
        #expect(problem.description.contains("127.0.2.1: cannot reach") && problem.description.contains("127.0.2.3: cannot reach"))
    }

    @Test func anAnswerUnderAnotherKeyIsNoAnswer() {
        let recorder = Recorder()
        let blades = ["127.0.2.1": Blade(name: "blade1", active: true, activeAddress: "127.0.2.1")]
        // The other chassis has another site key: it refuses the question.
        guard case .failure(let refused) = Self.ask(blades, keys: SiteKeys(root: [UInt8](repeating: 1, count: 32)), recorder: recorder)
        else { Issue.record("taken"); return }
        #expect(refused.description.contains("HTTP 401 (is the site key the same on both chassis?)"))
    }

    @Test func aForgedOrMalformedAnswerIsRefused() throws {
        var random = SystemRandomNumberGenerator()
        let credential = SiteCredential.make(from: "660007770088", seconds: 1_764_000_000, using: &random)
        for body in ["", "{}", "[1,2]", "{\"answeredBy\":\"blade1\",\"sealed\":\"AAAA\"}", String(repeating: "{", count: 10_000)] {
            let reply = HTTPGet.Reply(status: 200, headers: [:], body: Array(body.utf8))
            guard case .failure = SiteQuestion.open(reply, keys: Self.keys, credential: credential) else {
                Issue.record("taken: \(body.prefix(40))")
                continue
            }
        }
        // Sealed by blade1 but presented as blade2's.
        let summary = Array("{\"x\":1}".utf8)
        let sealed = try SiteSeal.seal(summary, keys: Self.keys, for: credential, answeredBy: "blade1")
        let relabelled = HTTPGet.Reply(status: 200, headers: [:], body: Array("{\"answeredBy\":\"blade2\",\"sealed\":\"\(sealed)\"}".utf8))
        guard case .failure(let problem) = SiteQuestion.open(relabelled, keys: Self.keys, credential: credential) else {
            Issue.record("taken")
            return
        }
        #expect(problem.description == "the answer is not sealed with the site key")
    }
}
