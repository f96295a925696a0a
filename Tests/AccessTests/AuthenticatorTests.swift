import Crypto
import Foundation
import Model
import Testing
@testable import Access

@Suite struct AuthenticatorTests {
    static let policy = SessionPolicy(idleSeconds: 1_800, lifetimeSeconds: 43_200, renewAfterSeconds: 60, ticketSeconds: 90)
    static let authenticator = Authenticator(policy: policy, key: AccessFixture.key)
    static let now = AccessFixture.now
    static let customerScope = AccessScope(slots: [3, 2, 3])

    static func access(generation: Int64 = 1) -> AccessSnapshot {
        AccessSnapshot(users: [
            "alice": AccessFixture.user("alice", .operator, generation: generation),
            "carol": AccessFixture.user("carol", .customer, scope: customerScope),
        ])
    }

    static func session(user: String = "alice", generation: Int64 = 1, started: Double = now, renewed: Double? = nil) -> SessionToken {
        SessionToken(id: "0123456789abcdef0123456789abcdef", user: user, generation: generation, startedAt: Int64(started),
                     renewedAt: Int64(renewed ?? started))
    }

    func authenticated(_ result: Authentication) -> (Principal, SessionToken?)? {
        if case .authenticated(let principal, let renewed) = result { return (principal, renewed) }
        return nil
    }

    func anonymousReason(_ result: Authentication) -> String?? {
        if case .anonymous(let reason) = result { return .some(reason) }
        return .none
    }

    @Test func aFreshSessionAuthenticates() throws {
        let cookie = Self.session().encode(key: AccessFixture.key)
        let (principal, renewed) = try #require(authenticated(Self.authenticator.session(cookie, access: Self.access(), now: Self.now + 5)))
        #expect(principal.user == "alice")
        #expect(principal.role == .operator)
        #expect(principal.scope == nil)
        #expect(principal.session == Self.session())
        #expect(principal.tokenID == nil)
        #expect(principal.via == "session")
        #expect(principal.actor(address: "10.0.0.7") == Actor(user: "alice", role: .operator, address: "10.0.0.7", via: "session"))
        #expect(renewed == nil)
    }

    @Test func aCustomerCarriesItsScope() throws {
        let cookie = Self.session(user: "carol").encode(key: AccessFixture.key)
        let (principal, _) = try #require(authenticated(Self.authenticator.session(cookie, access: Self.access(), now: Self.now)))
        #expect(principal.role == .customer)
        #expect(principal.scope == AccessScope(slots: [2, 3]))
        #expect(principal.scope?.slots == [2, 3])
    }

    @Test func theCookieIsRenewedAfterRenewAfterSeconds() throws {
        let token = Self.session()
        let early = try #require(authenticated(Self.authenticator.check(token, access: Self.access(), now: Self.now + 59.9)))
        #expect(early.1 == nil)
        let due = try #require(authenticated(Self.authenticator.check(token, access: Self.access(), now: Self.now + 60)))
        var expected = token
        expected.renewedAt = Int64(Self.now) + 60
        #expect(due.1 == expected)
        // The renewal keeps the session's identity and start: only the idle clock moves.
        #expect(due.1?.id == token.id && due.1?.startedAt == token.startedAt)
    }

    @Test func theIdleTimeoutEndsASession() throws {
        let token = Self.session(started: Self.now - 5_000, renewed: Self.now)
        #expect(authenticated(Self.authenticator.check(token, access: Self.access(), now: Self.now + 1_799)) != nil)
        let reason = anonymousReason(Self.authenticator.check(token, access: Self.access(), now: Self.now + 1_800))
        #expect(reason == .some("the session expired (idle)"))
    }

    @Test func theAbsoluteLifetimeEndsASessionThatIsInUse() throws {
        let token = Self.session(started: Self.now, renewed: Self.now + 43_190)
        #expect(authenticated(Self.authenticator.check(token, access: Self.access(), now: Self.now + 43_199)) != nil)
        let reason = anonymousReason(Self.authenticator.check(token, access: Self.access(), now: Self.now + 43_200))
        #expect(reason == .some("the session expired"))
    }

    @Test func aChangedGenerationEndsTheSession() {
        let token = Self.session(generation: 1)
        #expect(authenticated(Self.authenticator.check(token, access: Self.access(generation: 1), now: Self.now)) != nil)
        let reason = anonymousReason(Self.authenticator.check(token, access: Self.access(generation: 2), now: Self.now))
        #expect(reason == .some("the session ended (the user changed or was removed)"))
    }

    @Test func aRevokedSessionIsRefused() {
        var access = Self.access()
        access.revokedSessions[Self.session().id] = Self.now + 40_000
        let reason = anonymousReason(Self.authenticator.check(Self.session(), access: access, now: Self.now))
        #expect(reason == .some("the session ended (logged out)"))
        // Another session of the same user is not affected.
        var other = Self.session()
        other.id = "ffffffffffffffffffffffffffffffff"
        #expect(authenticated(Self.authenticator.check(other, access: access, now: Self.now)) != nil)
    }

    @Test func aRemovedUserHasNoSession() {
        var access = Self.access()
        access.users["alice"] = nil
        #expect(anonymousReason(Self.authenticator.check(Self.session(), access: access, now: Self.now)) != .none)
        #expect(authenticated(Self.authenticator.check(Self.session(), access: access, now: Self.now)) == nil)
    }

    @Test func aSessionFromTheFutureIsRefused() {
        let token = Self.session(started: Self.now + 120)
        #expect(authenticated(Self.authenticator.check(token, access: Self.access(), now: Self.now)) == nil)
        // Within the allowed clock skew between blades (60 s), it is accepted.
        #expect(authenticated(Self.authenticator.check(Self.session(started: Self.now + 30), access: Self.access(), now: Self.now)) != nil)
    }

    @Test func aForgedOrForeignCookieIsAnonymousNotAnError() {
        #expect(anonymousReason(Self.authenticator.session("nonsense", access: Self.access(), now: Self.now))
            == .some("the session is not valid"))
        let foreign = Self.session().encode(key: AccessFixture.otherKey)
        #expect(anonymousReason(Self.authenticator.session(foreign, access: Self.access(), now: Self.now))
            == .some("the session is not valid"))
    }

    @Test func startMakesASessionOfTheUsersGeneration() {
        var random = SeededGenerator(seed: 11)
        let user = AccessFixture.user("alice", .operator, generation: 7)
        let first = Self.authenticator.start(user: user, now: Self.now + 0.9, using: &random)
        let second = Self.authenticator.start(user: user, now: Self.now + 0.9, using: &random)
        #expect(first.id.range(of: "^[0-9a-f]{32}$", options: .regularExpression) != nil)
        #expect(first.id != second.id)
        #expect(first.user == "alice" && first.generation == 7)
        #expect(first.startedAt == Int64(Self.now) && first.renewedAt == Int64(Self.now))
    }

    // MARK: Tickets

    @Test func aTicketIsRedeemedUntilItExpires() throws {
        var random = SeededGenerator(seed: 12)
        let ticket = Self.authenticator.ticket(for: Self.session(), now: Self.now + 10.5, using: &random)
        #expect(ticket.expiresAt == Int64(Self.now) + 10 + 90)
        #expect(ticket.session.id == Self.session().id)
        let text = ticket.encode(key: AccessFixture.key)
        #expect(!text.contains(Self.session().encode(key: AccessFixture.key)), "the ticket does not carry the cookie")
        #expect(Self.authenticator.redeem(text, now: Self.now + 99) == ticket)
        #expect(Self.authenticator.redeem(text, now: Self.now + 100) == nil)
        #expect(Authenticator(policy: Self.policy, key: AccessFixture.otherKey).redeem(text, now: Self.now + 11) == nil)
        #expect(Self.authenticator.redeem(Self.session().encode(key: AccessFixture.key), now: Self.now) == nil)
    }

    // MARK: Bearer tokens

    static func tokenAccess(expiresAt: Double? = nil, user: String = "alice") -> (AccessSnapshot, String) {
        var random = SeededGenerator(seed: 13)
        let minted = APIToken.mint(using: &random)
        var access = Self.access()
        access.tokens[minted.id] = TokenRecord(id: minted.id, user: user, label: "prometheus", secretHash: minted.secretHash,
                                               createdAt: now - 100, expiresAt: expiresAt)
        return (access, minted.text)
    }

    @Test func aValidTokenAuthenticatesWithItsUsersRoleAndScope() throws {
        let (access, text) = Self.tokenAccess()
        let (principal, renewed) = try #require(authenticated(Self.authenticator.bearer(text, access: access, now: Self.now)))
        #expect(principal.user == "alice" && principal.role == .operator)
        #expect(principal.tokenID == APIToken.parse(text)?.id)
        #expect(principal.session == nil)
        #expect(principal.via == "token")
        #expect(principal.actor(address: "10.0.0.8").via == "token \(principal.tokenID!)")
        #expect(renewed == nil)
        let (customerAccess, customerText) = Self.tokenAccess(user: "carol")
        let customer = try #require(authenticated(Self.authenticator.bearer(customerText, access: customerAccess, now: Self.now)))
        #expect(customer.0.role == .customer && customer.0.scope == AccessScope(slots: [2, 3]))
    }

    @Test func aWrongSecretIsRejected() throws {
        let (access, text) = Self.tokenAccess()
        let parsed = try #require(APIToken.parse(text))
        let wrong = "cm_\(parsed.id)_" + Base64.encode([UInt8](repeating: 1, count: 32), padding: false, url: true)
        #expect(Self.authenticator.bearer(wrong, access: access, now: Self.now) == .rejected(reason: "the token is not valid"))
        #expect(Self.authenticator.bearer("cm_nonsense", access: access, now: Self.now) == .rejected(reason: "the token is not valid"))
        var unknown = access
        unknown.tokens = [:]
        #expect(Self.authenticator.bearer(text, access: unknown, now: Self.now) == .rejected(reason: "the token is not valid"))
    }

    @Test func anExpiredTokenIsRejected() {
        let (access, text) = Self.tokenAccess(expiresAt: Self.now + 10)
        #expect(authenticated(Self.authenticator.bearer(text, access: access, now: Self.now + 9.9)) != nil)
        #expect(Self.authenticator.bearer(text, access: access, now: Self.now + 10) == .rejected(reason: "the token expired"))
        #expect(Self.authenticator.bearer(text, access: access, now: Self.now + 1_000) == .rejected(reason: "the token expired"))
    }

    @Test func aTokenOfARemovedUserIsRejected() {
        var (access, text) = Self.tokenAccess()
        access.users["alice"] = nil
        #expect(Self.authenticator.bearer(text, access: access, now: Self.now) == .rejected(reason: "the token's user was removed"))
    }
}

@Suite struct AccessRuleTests {
    @Test func whoMayCallWhat() {
        let table: [(AccessRule, [Role])] = [
            (.anonymous, [.admin, .operator, .viewer, .customer]),
            (.anyUser, [.admin, .operator, .viewer, .customer]),
            (.staff, [.admin, .operator, .viewer]),
            (.operate, [.admin, .operator]),
            (.administer, [.admin]),
        ]
        for (rule, roles) in table {
            #expect(Role.allCases.filter(rule.permits) == roles, "\(rule)")
        }
        #expect(AccessRule.administer.rolesText == "admin")
        #expect(AccessRule.operate.rolesText == "admin or operator")
        #expect(AccessRule.staff.rolesText == "admin, operator or viewer")
    }

    @Test func rolesAreOrderedByPrivilege() {
        #expect(Role.allCases.sorted() == [.admin, .operator, .viewer, .customer])
        #expect(Role.admin < Role.customer)
    }

    @Test func scopesAreSortedWithoutDuplicatesAndNameTheirChassis() {
        let scope = AccessScope(chassisID: "660007770088", slots: [3, 2, 3])
        #expect(scope.slots == [2, 3])
        #expect(scope.text == "660007770088:2,3")
        #expect(AccessScope(slots: [5]).text == "5")
        #expect(scope.contains(slot: 2, chassisID: "660007770088"))
        #expect(!scope.contains(slot: 2, chassisID: "111111111111"))
        #expect(!scope.contains(slot: 4, chassisID: "660007770088"))
        #expect(AccessScope(slots: [2]).contains(slot: 2, chassisID: "111111111111"), "no chassis: the one logged in to")
    }
}
