import ChassisKeys
import Crypto
import Foundation

/// The trust between the chassis of one site: each chassis is its own cluster with its own
/// cluster key, and they share one more secret, the site key (`[site] key_file`). From it every
/// chassis derives the same three keys: one signs a chassis' request for another's summary, one
/// seals the summary (AES-GCM, so that plain HTTP on the management network neither reveals nor
/// lets anyone alter it), one signs the ticket that carries a person's login to another chassis.
/// The engine derives `site.key` from the site key for the web app, which never reads the key
/// file itself (as with `web.key`).
public struct SiteKeys: Sendable {
    let request: SymmetricKey
    let seal: SymmetricKey
    let ticket: SymmetricKey

    /// `root`: the 32 bytes of `site.key`.
    public init(root: [UInt8]) {
        request = SymmetricKey(data: KeyDerivation.derive(from: root, purpose: "chassis-manager/site-requests/v1"))
        seal = SymmetricKey(data: KeyDerivation.derive(from: root, purpose: "chassis-manager/site-summaries/v1"))
        ticket = SymmetricKey(data: KeyDerivation.derive(from: root, purpose: "chassis-manager/site-tickets/v1"))
    }

    /// Reads `site.key` (64 hex digits), as written by the engine.
    public static func load(path: String) throws -> SiteKeys {
        SiteKeys(root: try WebKey.readKeyFile(path: path, what: "the site key"))
    }
}

/// How one chassis asks another for its summary: `Authorization: Chassis-Site c1.FROM.SECONDS.NONCE.MAC`,
/// FROM the asking chassis' ID, NONCE 16 random bytes in hex (the answer is sealed to it, so an
/// answer recorded once cannot be replayed to a later question), accepted within a minute of the
/// receiver's clock.
public struct SiteCredential: Sendable, Equatable {
    public static let scheme = "Chassis-Site"
    static let prefix = "c1"
    public static let skewSecondsMax: Int64 = 60

    public var from: String
    public var seconds: Int64
    public var nonce: String

    public init(from: String, seconds: Int64, nonce: String) {
        self.from = from
        self.seconds = seconds
        self.nonce = nonce
    }

    public static func make<R: RandomNumberGenerator>(from: String, seconds: Int64, using random: inout R) -> SiteCredential {
        SiteCredential(from: from, seconds: seconds, nonce: randomID(bytes: 16, using: &random))
    }

    public func encode(keys: SiteKeys) -> String {
        let body = [Self.prefix, from, String(seconds), nonce].joined(separator: ".")
        return body + "." + Hex.encode(Array(HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: keys.request)))
    }

    /// The credential in `text` if it is well formed, signed with `keys` and fresh at `now`.
    public static func verify(_ text: String, keys: SiteKeys, now: Int64) -> SiteCredential? {
        guard text.utf8.count <= 256, let lastDot = text.lastIndex(of: ".") else { return nil }
        let body = text[..<lastDot]
        let fields = body.split(separator: ".", omittingEmptySubsequences: false)
        guard fields.count == 4, fields[0] == prefix, isChassisID(fields[1]), let seconds = decimal(fields[2]),
              abs(seconds - now) <= skewSecondsMax, fields[3].utf8.count == 32, isHexID(fields[3]) else { return nil }
        let mac = text[text.index(after: lastDot)...]
        guard mac.utf8.count == 64, isHexID(mac), let given = Hex.decode(mac),
              HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Array(body.utf8), using: keys.request) else { return nil }
        return SiteCredential(from: String(fields[1]), seconds: seconds, nonce: String(fields[3]))
    }

    /// A chassis ID as configured (`[chassis] id`): 1 to 64 letters, digits, '-', '_' or '.'.
    static func isChassisID<S: StringProtocol>(_ text: S) -> Bool {
        !text.isEmpty && text.utf8.count <= 64 && text.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F
        }
    }
}

/// A summary sealed for the chassis that asked: AES-GCM with the site's summary key, the
/// question's nonce and both chassis' IDs as authenticated data; URL-safe base64 of nonce,
/// ciphertext and tag.
public enum SiteSeal {
    static func context(_ credential: SiteCredential, answeredBy: String) -> [UInt8] {
        Array("site-summary|\(credential.from)|\(answeredBy)|\(credential.nonce)".utf8)
    }

    public static func seal(_ plaintext: [UInt8], keys: SiteKeys, for credential: SiteCredential, answeredBy: String) throws -> String {
        let box = try AES.GCM.seal(plaintext, using: keys.seal, authenticating: context(credential, answeredBy: answeredBy))
        guard let combined = box.combined else { throw PasswordHash.Problem("AES-GCM gave no combined form") }
        return Base64.encode(Array(combined), padding: false, url: true)
    }

    /// The plaintext, if `text` was sealed with `keys` for this question by `answeredBy`; nil otherwise.
    public static func open(_ text: String, keys: SiteKeys, for credential: SiteCredential, answeredBy: String) -> [UInt8]? {
        guard text.utf8.count <= 1 << 20, let bytes = Base64.decode(text), bytes.count >= 28,
              let box = try? AES.GCM.SealedBox(combined: bytes),
              let plain = try? AES.GCM.open(box, using: keys.seal, authenticating: context(credential, answeredBy: answeredBy))
        else { return nil }
        return Array(plain)
    }
}

/// Carries a person's login from one chassis of the site to another: made by the chassis the
/// person is logged in to (its site page's link), posted in a form body (never a URL) to the
/// other chassis' `/session/site`, accepted once, for a minute, and only by the chassis it names.
/// The other chassis starts a session for its own user of the same name, with the role and scope
/// that chassis gives it: a site ticket vouches for who the person is, never for what they may do.
///
/// `st1.TICKETID.FROM.TO.USER.EXPIRES.MAC`, USER in URL-safe base64.
public struct SiteTicket: Sendable, Equatable {
    public static let lifetimeSeconds: Int64 = 60
    static let prefix = "st1"

    public var id: String
    public var from: String
    public var to: String
    public var user: String
    public var expiresAt: Int64

    public init(id: String, from: String, to: String, user: String, expiresAt: Int64) {
        self.id = id
        self.from = from
        self.to = to
        self.user = user
        self.expiresAt = expiresAt
    }

    public static func make<R: RandomNumberGenerator>(from: String, to: String, user: String, now: Double,
                                                       using random: inout R) -> SiteTicket {
        SiteTicket(id: randomID(bytes: 16, using: &random), from: from, to: to, user: user,
                   expiresAt: Int64(now.rounded(.down)) + lifetimeSeconds)
    }

    public func encode(keys: SiteKeys) -> String {
        let body = [Self.prefix, id, from, to, Base64.encode(Array(user.utf8), padding: false, url: true),
                    String(expiresAt)].joined(separator: ".")
        return body + "." + Base64.encode(Array(HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: keys.ticket)),
                                          padding: false, url: true)
    }

    /// The ticket in `text` if it is signed with `keys`, names `chassisID` and has not expired.
    public static func redeemable(_ text: String, keys: SiteKeys, chassisID: String, now: Double) -> SiteTicket? {
        guard text.utf8.count <= SessionToken.bytesMax,
              let (fields, _) = WebKey.verified(text, prefix: prefix, fieldCount: 6, key: keys.ticket),
              fields[1].utf8.count == 32, isHexID(fields[1]),
              SiteCredential.isChassisID(fields[2]), SiteCredential.isChassisID(fields[3]),
              let userBytes = Base64.decode(fields[4]), let user = String(validating: userBytes, as: UTF8.self), !user.isEmpty,
              let expires = decimal(fields[5]) else { return nil }
        let ticket = SiteTicket(id: String(fields[1]), from: String(fields[2]), to: String(fields[3]), user: user, expiresAt: expires)
        guard ticket.to == chassisID, Double(expires) > now, Double(expires) <= now + Double(lifetimeSeconds) + 5 else { return nil }
        return ticket
    }
}
