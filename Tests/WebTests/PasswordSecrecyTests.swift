import Foundation
import Testing
import Access
import Control
import Model
@testable import Web

/// A password never leaves the web app in clear: what goes to the engine (and from there into
/// the replicated log) is a scrypt hash; no answer, header or recorded request holds the password.
@Suite struct PasswordSecrecyTests {
    /// Distinctive, with nothing JSON or a form would escape, so that a copy is found as is.
    static let secret = "Quokka-Zebra-7741-secret"
    static let formType = ["Content-Type": "application/x-www-form-urlencoded"]

    /// Everything that left the app: answers (bodies and headers) and requests to the engine
    /// (encoded as the control socket carries them, with their actor).
    func expectNoSecret(_ responses: [Response], _ control: RecordingControl, _ password: String = secret,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        for response in responses {
            #expect(!response.bodyText.contains(password), "an answer holds the password", sourceLocation: sourceLocation)
            #expect(!response.headerText.contains(password), "a header holds the password", sourceLocation: sourceLocation)
        }
        for (request, actor) in control.sent {
            let line = String(decoding: try JSONEncoder().encode(ControlEnvelope(request: request, actor: actor)), as: UTF8.self)
            #expect(!line.contains(password), "the engine was sent the password: \(line)", sourceLocation: sourceLocation)
            #expect(!line.contains(URLCoding.encodeComponent(password)), sourceLocation: sourceLocation)
        }
    }

    func expectHashOf(_ password: String, _ hash: String?, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let hash = try #require(hash, sourceLocation: sourceLocation)
        #expect(hash.hasPrefix("$scrypt$ln=10,r=8,p=1$"), "the configured parameters: \(hash)", sourceLocation: sourceLocation)
        #expect(ControlValidation.hashProblem(hash) == nil, sourceLocation: sourceLocation)
        #expect(PasswordHash.verify(password: password, stored: hash), sourceLocation: sourceLocation)
        #expect(!hash.contains(password), sourceLocation: sourceLocation)
    }

    @Test func addingAUserThroughTheAPISendsAHash() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let body = "{\"name\": \"newbie\", \"role\": \"customer\", \"slots\": [3, 2], \"password\": \"\(Self.secret)\"}"
        let response = app.send("POST", "/api/v1/users", MemoryStateSource(), body: body)
        #expect(response.status == 201)
        guard case .addUser(let name, let role, let scope, let hash) = try #require(control.requests.first) else {
            Issue.record("sent \(control.requests)")
            return
        }
        #expect(name == "newbie" && role == .customer && scope == AccessScope(slots: [2, 3]))
        try expectHashOf(Self.secret, hash)
        #expect(control.sent.first?.actor?.user == "admin")
        try expectNoSecret([response], control)
    }

    @Test func changingAPasswordThroughTheAPISendsAHash() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let response = app.send("PATCH", "/api/v1/users/oper", MemoryStateSource(), body: "{\"password\": \"\(Self.secret)\"}")
        #expect(response.status == 200)
        guard case .updateUser(let name, let role, let scope, let hash) = try #require(control.requests.first) else {
            Issue.record("sent \(control.requests)")
            return
        }
        #expect(name == "oper" && role == nil && scope == nil)
        try expectHashOf(Self.secret, hash)
        try expectNoSecret([response], control)
    }

    @Test func theUsersPageSendsHashesToo() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let source = MemoryStateSource()
        let add = app.handle(app.request("POST", "/users",
                                         body: "action=add&name=newbie&role=viewer&slots=&password=\(Self.secret)", headers: Self.formType),
                             source: source)
        #expect(add.status == 200)
        #expect(add.bodyText.contains("User newbie added."))
        // The form names the user's own role (preselected): a password change alone keeps it.
        let change = app.handle(app.request("POST", "/users",
                                            body: "action=update&name=oper&role=operator&slots=&password=\(Self.secret)x",
                                            headers: Self.formType),
                                source: source)
        #expect(change.status == 200)
        #expect(change.bodyText.contains("User oper changed"))
        let demote = app.handle(app.request("POST", "/users",
                                            body: "action=update&name=oper&role=viewer&slots=&password=\(Self.secret)y",
                                            headers: Self.formType),
                                source: source)
        #expect(demote.status == 200)
        #expect(control.requests.count == 3)
        if case .addUser(let name, let role, let scope, let hash) = control.requests[0] {
            #expect(name == "newbie" && role == .viewer && scope == nil)
            try expectHashOf(Self.secret, hash)
        } else {
            Issue.record("sent \(control.requests[0])")
        }
        if case .updateUser(let name, let role, let scope, let hash) = control.requests[1] {
            #expect(name == "oper" && role == nil && scope == nil, "sent \(control.requests[1])")
            try expectHashOf(Self.secret + "x", hash)
        } else {
            Issue.record("sent \(control.requests[1])")
        }
        if case .updateUser(let name, let role, _, let hash) = control.requests[2] {
            #expect(name == "oper" && role == .viewer, "sent \(control.requests[2])")
            try expectHashOf(Self.secret + "y", hash)
        } else {
            Issue.record("sent \(control.requests[2])")
        }
        try expectNoSecret([add, change, demote], control)
        try expectNoSecret([add, change, demote], control, Self.secret + "x")
    }

    @Test func refusedChangesDoNotEchoThePassword() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let source = MemoryStateSource()
        var responses: [Response] = []
        for body in [
            "{\"name\": \"newbie\", \"role\": \"wizard\", \"password\": \"\(Self.secret)\"}",
            "{\"name\": \"new bie\", \"role\": \"viewer\", \"password\": \"\(Self.secret)\"}",
            "{\"name\": \"newbie\", \"role\": \"viewer\", \"slots\": [2], \"password\": \"\(Self.secret)\"}",
            "{\"name\": \"newbie\", \"role\": \"viewer\", \"password\": \"\(Self.secret)\", \"extra\": 1}",
            "{\"name\": \"newbie\", \"role\": \"viewer\", \"password\": \"\(Self.secret)\"",
        ] {
            let response = app.send("POST", "/api/v1/users", source, body: body)
            #expect(response.status == 400, "\(body): \(response.bodyText)")
            responses.append(response)
        }
        let short = app.send("PATCH", "/api/v1/users/oper", source, body: "{\"password\": \"short\"}")
        #expect(short.status == 400)
        #expect(!short.bodyText.contains("short\""))
        let page = app.handle(app.request("POST", "/users", body: "action=add&name=newbie&role=wizard&password=\(Self.secret)",
                                          headers: Self.formType), source: source)
        #expect(page.status == 400)
        responses.append(page)
        // The engine refuses: its message is shown, the password is not.
        control.reply = ControlResponse(ok: false, error: "user newbie exists", code: 409)
        let refused = app.send("POST", "/api/v1/users", source,
                               body: "{\"name\": \"newbie\", \"role\": \"viewer\", \"password\": \"\(Self.secret)\"}")
        #expect(refused.status == 409)
        responses.append(refused)
        // A viewer may not add users at all, and is not told anything of the password either.
        let forbidden = app.send("POST", "/api/v1/users", source,
                                 body: "{\"name\": \"newbie\", \"role\": \"viewer\", \"password\": \"\(Self.secret)\"}", as: .session(.viewer))
        #expect(forbidden.status == 403)
        responses.append(forbidden)
        try expectNoSecret(responses, control)
        #expect(control.requests.count == 1, "only the one the engine refused was sent")
    }

    @Test func aLoginSendsNoPassword() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let source = MemoryStateSource()
        var responses: [Response] = []
        for password in [Fixture.password, Self.secret] {
            responses.append(app.handle(app.request("POST", "/login", as: .anonymous,
                                                    body: "user=admin&password=\(URLCoding.encodeComponent(password))",
                                                    headers: Self.formType), source: source))
            responses.append(app.handle(app.request("POST", "/api/v1/session", as: .anonymous,
                                                    body: "{\"user\": \"admin\", \"password\": \"\(password)\"}",
                                                    headers: ["Content-Type": "application/json"]), source: source))
        }
        #expect(responses.map(\.status) == [303, 200, 401, 401])
        try expectNoSecret(responses, control, Fixture.password)
        try expectNoSecret(responses, control, Self.secret)
        #expect(control.requests.count == 4)
    }

    @Test func theUserListHoldsNoHash() throws {
        let app = try Fixture.app()
        for target in ["/api/v1/users", "/users"] {
            let response = app.get(target, MemoryStateSource())
            #expect(response.status == 200)
            #expect(response.bodyText.contains("cust"))
            #expect(!response.bodyText.contains("$scrypt$"), "\(target)")
            #expect(!response.bodyText.contains(Fixture.tokens[.viewer]!.secretHash), "\(target)")
        }
    }

    // MARK: Tokens: shown once, sent hashed

    @Test func aNewTokenIsShownOnceAndSentAsItsHash() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let source = MemoryStateSource()
        let response = app.send("POST", "/api/v1/tokens", source, body: "{\"user\": \"viewer\", \"label\": \"prometheus\", \"expiresInDays\": 30}")
        #expect(response.status == 201)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let text = try #require(object["token"] as? String)
        let (id, secret) = try #require(APIToken.parse(text))
        #expect(object["id"] as? String == id)
        guard case .createToken(let sentID, let user, let label, let secretHash, let expiresAt) = try #require(control.requests.first) else {
            Issue.record("sent \(control.requests)")
            return
        }
        #expect(sentID == id && user == "viewer" && label == "prometheus")
        #expect(secretHash == APIToken.hash(secret: secret))
        #expect(expiresAt == Fixture.now + 30 * 86_400)
        try expectNoSecret([], control, secret)
        // Once the engine has stored it, the token opens the API with the user's role.
        source.accessState.tokens[id] = TokenRecord(id: id, user: user, label: label, secretHash: secretHash, createdAt: Fixture.now,
                                                    expiresAt: expiresAt)
        source.version = "v2"
        let read = app.get("/api/v1/chassis", source, headers: ["Authorization": "Bearer " + text], as: .anonymous)
        #expect(read.status == 200)
        let write = app.send("PUT", "/api/v1/thresholds", source, body: "{\"metricKey\": \"x\"}",
                             headers: ["Authorization": "Bearer " + text, "Content-Type": "application/json"], as: .anonymous)
        #expect(write.status == 403, "a viewer's token reads only")
        // Listing tokens never shows one again.
        let list = app.get("/api/v1/tokens", source)
        #expect(list.bodyText.contains(id))
        #expect(!list.bodyText.contains(secret) && !list.bodyText.contains(secretHash))
    }

    @Test func theUsersPageShowsANewTokenOnce() throws {
        let control = RecordingControl()
        let app = try Fixture.app(control: control)
        let source = MemoryStateSource()
        let created = app.handle(app.request("POST", "/users", body: "action=token&name=viewer&label=grafana&days=",
                                             headers: Self.formType), source: source)
        #expect(created.status == 200)
        guard case .createToken(let id, _, _, let secretHash, let expiresAt) = try #require(control.requests.first) else {
            Issue.record("sent \(control.requests)")
            return
        }
        #expect(expiresAt == nil)
        #expect(created.bodyText.contains("id=\"created-token\">cm_\(id)_"))
        #expect(!created.bodyText.contains(secretHash))
        let next = app.get("/users", source)
        #expect(!next.bodyText.contains("cm_\(id)_"))
    }
}
