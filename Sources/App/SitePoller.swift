@preconcurrency import Foundation
import Access
import Config
import Logging
import Model
import Plumbing
import Web

/// Asks every other chassis of the site for its summary, every `[site] poll_seconds`, while this
/// blade is the active manager (a standby asks nothing: the page is the active manager's), and
/// records the answers on the web app's `SiteBoard`. One thread; the chassis are asked in
/// parallel, each within `[site] timeout_ms` per address.
final class SitePoller: @unchecked Sendable {
    let board: SiteBoard
    let settings: BladeConfig.Site
    let makeSource: () throws -> StateSource
    let logger: Logger
    let clock: HostClock
    private let stopped = NSCondition()
    private var stopping = false
    private var thread: Thread?

    init(board: SiteBoard, settings: BladeConfig.Site, makeSource: @escaping () throws -> StateSource, logger: Logger,
         clock: HostClock = .system) {
        self.clock = clock
        self.board = board
        self.settings = settings
        self.makeSource = makeSource
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "site-poller"
        self.thread = thread
        thread.start()
    }

    func stop() {
        stopped.lock()
        stopping = true
        stopped.broadcast()
        stopped.unlock()
    }

    private func run() {
        var source: StateSource?
        var wasActive = false
        while true {
            stopped.lock()
            if !stopping { _ = stopped.wait(until: Date(timeIntervalSinceNow: settings.pollSeconds)) }
            let done = stopping
            stopped.unlock()
            if done { return }
            do {
                if source == nil { source = try makeSource() }
                guard let local = try source?.local(), local.role == .active, local.leaseValid else {
                    wasActive = false
                    continue
                }
                if !wasActive { logger.info("asking the site's other chassis", metadata: ["count": "\(board.chassis.count)"]) }
                wasActive = true
            } catch {
                source = nil
                continue
            }
            pollOnce()
        }
    }

    /// One round: every chassis asked at once, each answer recorded.
    func pollOnce() {
        let keys: SiteKeys
        do { keys = try board.siteKeys() } catch {
            logger.warning("the site key is not readable yet", metadata: ["error": "\(error)"])
            return
        }
        let others = board.chassis
        DispatchQueue.concurrentPerform(iterations: others.count) { index in
            let other = others[index]
            let previous = board.state(of: other.name)
            let result = SiteQuestion.ask(other, from: board.chassisID, keys: keys, preferred: previous?.address,
                                          timeoutMs: settings.timeoutMs, now: clock.wallSeconds, fetch: HTTPGet.get)
            if case .failure(let problem) = result, previous?.reachable ?? true {
                logger.warning("a chassis of the site does not answer", metadata: ["chassis": "\(other.name)", "problem": "\(problem)"])
            } else if case .success = result, previous?.reachable == false, previous?.unreachableSince != nil {
                logger.notice("a chassis of the site answers again", metadata: ["chassis": "\(other.name)"])
            }
            board.record(other.name, result, now: clock.wallSeconds())
        }
    }
}

/// One chassis asked for its summary: the address that answered last first, then the others;
/// an answer from a standby names the active manager's address, which is asked next. The
/// answer of the active manager is taken; failing that, the first standby's.
enum SiteQuestion {
    typealias Fetch = (_ host: String, _ port: Int, _ path: String, _ headers: [(String, String)], _ timeoutMs: Int,
                       _ responseBytesMax: Int) throws -> HTTPGet.Reply

    static let path = "/api/v1/site/summary"
    static let answerBytesMax = 256 * 1024
    /// At most this many addresses a round (the configured ones, and active managers named by answers).
    static let addressesMax = 8

    static func ask(_ other: BladeConfig.SiteChassis, from chassisID: String, keys: SiteKeys, preferred: String?,
                    timeoutMs: Int, now: () -> Double, fetch: Fetch) -> Result<(summary: SiteSummary, address: String), SiteProblem> {
        var queue = other.addresses
        if let preferred, IPv4.parse(preferred) != nil { queue = [preferred] + queue.filter { $0 != preferred } }
        var tried: Set<String> = []
        var standby: (summary: SiteSummary, address: String)?
        var problems: [String] = []
        var random = SystemRandomNumberGenerator()
        while !queue.isEmpty, tried.count < addressesMax {
            let address = queue.removeFirst()
            guard tried.insert(address).inserted else { continue }
            let credential = SiteCredential.make(from: chassisID, seconds: Int64(now()), using: &random)
            let reply: HTTPGet.Reply
            do {
                reply = try fetch(address, other.port, path, [("Authorization", SiteCredential.scheme + " " + credential.encode(keys: keys))],
                                  timeoutMs, answerBytesMax)
            } catch {
                problems.append("\(address): \(error)")
                continue
            }
            switch open(reply, keys: keys, credential: credential) {
            case .failure(let problem):
                problems.append("\(address): \(problem)")
            case .success(let summary):
                if summary.answeredByActive { return .success((summary, address)) }
                if standby == nil { standby = (summary, address) }
                if let next = summary.activeAddress, IPv4.parse(next) != nil, !tried.contains(next) {
                    queue.removeAll { $0 == next }
                    queue.insert(next, at: 0)
                }
            }
        }
        if let standby { return .success(standby) }
        return .failure(SiteProblem(problems.isEmpty ? "no address to ask" : problems.joined(separator: "; ")))
    }

    /// The summary in an answer, if it is a 200 whose sealed body opens for this question.
    static func open(_ reply: HTTPGet.Reply, keys: SiteKeys, credential: SiteCredential) -> Result<SiteSummary, SiteProblem> {
        guard reply.status == 200 else {
            let reason = reply.status == 401 || reply.status == 403 ? " (is the site key the same on both chassis?)" : ""
            return .failure(SiteProblem("HTTP \(reply.status)\(reason)"))
        }
        guard let envelope = try? JSONDecoder().decode(SiteEnvelopeReply.self, from: Data(reply.body)) else {
            return .failure(SiteProblem("the answer is not a site summary"))
        }
        guard let plain = SiteSeal.open(envelope.sealed, keys: keys, for: credential, answeredBy: envelope.answeredBy) else {
            return .failure(SiteProblem("the answer is not sealed with the site key"))
        }
        guard let summary = try? JSONDecoder().decode(SiteSummary.self, from: Data(plain)), summary.answeredBy == envelope.answeredBy else {
            return .failure(SiteProblem("the sealed summary does not decode"))
        }
        return .success(summary)
    }
}

/// The answer's outer form (the web app's `SiteEnvelope`).
struct SiteEnvelopeReply: Decodable {
    var answeredBy: String
    var sealed: String
}
