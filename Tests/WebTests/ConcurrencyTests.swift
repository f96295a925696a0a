import Foundation
import Testing
import Model
@testable import Web

/// One `WebApp` answering on several threads at once, each thread with its own source, as
/// chassis-web's workers and slow lane do: the snapshot cache, the encoded bodies and the access
/// state (sessions, tickets) are shared. Under ThreadSanitizer (`make tsan`) a race between
/// workers shows here; in any build, every thread must get exactly the answers one thread alone
/// gets for the data version its source is at, whatever versions the others are at.
@Suite struct ConcurrencyTests {
    static let threads = 4
    static let rounds = 30
    /// Each thread moves its source through these versions at its own pace, so the shared caches
    /// see every version come and go while other threads still read another one.
    static let versions = ["v1", "v2", "v3"]

    /// A source at `version`, whose chassis carries the version in its name: an answer built from
    /// another version's snapshot would show it.
    static func source(at version: String) -> MemoryStateSource {
        let source = MemoryStateSource()
        source.version = version
        source.current.chassis.name = "Chassis \(version)"
        return source
    }

    struct Answer: Equatable {
        var status: Int
        var etag: String?
        var body: [UInt8]
    }

    static func answer(_ response: Response) -> Answer {
        Answer(status: response.status, etag: response.header("ETag"), body: response.body)
    }

    /// What one thread alone gets for a polled document, as an admin and as a customer.
    static func expected(_ app: WebApp) -> [String: [Credential: Answer]] {
        var out: [String: [Credential: Answer]] = [:]
        for version in versions {
            let source = source(at: version)
            for credential in [Credential.session(.admin), .session(.customer)] {
                out[version, default: [:]][credential] = answer(app.get("/api/v1/chassis", source, as: credential))
            }
        }
        return out
    }

    final class Problems: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [String] = []
        func add(_ problem: String) {
            lock.lock()
            if list.count < 20 { list.append(problem) }
            lock.unlock()
        }
        var all: [String] {
            lock.lock()
            defer { lock.unlock() }
            return list
        }
    }

    @Test func workersShareTheCachesAndAgree() throws {
        let expected = Self.expected(try Fixture.app())
        #expect(expected.values.allSatisfy { $0.values.allSatisfy { $0.status == 200 && $0.etag != nil } })
        let app = try Fixture.app()
        let problems = Problems()
        let group = DispatchGroup()
        for thread in 0..<Self.threads {
            group.enter()
            Thread {
                defer { group.leave() }
                Self.work(thread: thread, app: app, expected: expected, problems: problems)
            }.start()
        }
        #expect(group.wait(timeout: .now() + 300) == .success, "the threads did not finish")
        #expect(problems.all.isEmpty, "\(problems.all.joined(separator: "\n"))")
    }

    static func work(thread: Int, app: WebApp, expected: [String: [Credential: Answer]], problems: Problems) {
        var source = source(at: versions[thread % versions.count])
        var formType: [String: String] { ["Content-Type": "application/x-www-form-urlencoded"] }
        func check(_ what: String, _ response: Response, _ status: Int) {
            if response.status != status {
                problems.add("thread \(thread), \(what): \(response.status) instead of \(status): \(response.bodyText.prefix(200))")
            }
        }
        for round in 0..<rounds {
            // A new data version now and then, at a different pace on each thread.
            if round % (thread + 2) == 0 {
                source = Self.source(at: versions[(round / (thread + 2) + thread) % versions.count])
            }
            let version = source.version
            for credential in [Credential.session(.admin), .session(.customer)] {
                let got = answer(app.get("/api/v1/chassis", source, as: credential))
                if got != expected[version]?[credential] {
                    problems.add("thread \(thread), round \(round): /api/v1/chassis as \(credential) at \(version) is not "
                                 + "what one thread gets (status \(got.status), \(got.body.count) bytes)")
                }
                if let etag = got.etag {
                    check("a poll with the ETag of \(version)", app.get("/api/v1/chassis", source, headers: ["If-None-Match": etag],
                                                                        as: credential), 304)
                }
            }
            check("the overview", app.get("/", source), 200)
            check("a module page as a viewer's token", app.get("/chassis/660007770088/slots/2", source, as: .token(.viewer)), 200)
            check("/metrics", app.get("/metrics", source, as: .token(.admin)), 200)
            check("the alerts without a session", app.get("/api/v1/alerts", source, as: .anonymous), 401)
            // A session carried to another blade: a ticket, redeemed once here.
            let ticketReply = app.send("POST", "/api/v1/session/ticket", source, as: .session(.operator))
            check("a ticket", ticketReply, 200)
            if let object = try? JSONSerialization.jsonObject(with: Data(ticketReply.body)) as? [String: Any],
               let ticket = object["ticket"] as? String {
                let body = "ticket=\(URLCoding.encodeComponent(ticket))&next=%2F"
                check("a ticket redeemed", app.send("POST", "/session/transfer", source, body: body, headers: formType,
                                                    as: .anonymous), 200)
                check("a ticket redeemed again", app.send("POST", "/session/transfer", source, body: body, headers: formType,
                                                          as: .anonymous), 303)
            }
            // A logout makes every thread read the access state again.
            if round % 5 == thread % 5 {
                check("a logout", app.send("DELETE", "/api/v1/session", source, as: .session(.viewer)), 200)
            }
        }
    }
}
