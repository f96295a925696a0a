import ChassisKeys
import Crypto
import Foundation
import Model

/// A session any blade can verify: the fields and an HMAC-SHA256 over them with the chassis'
/// web key (derived by every engine from the shared cluster key, so every blade has the same one
/// and nothing secret travels in the replicated log). Revocation is by user generation (a change
/// of password, role or scope, or removal, ends every session of the user) and by the replicated
/// list of sessions ended by logout.
///
/// Cookie value: `s1.SID.USER.GENERATION.STARTED.RENEWED.MAC`, USER in URL-safe base64, times
/// in whole Unix seconds, MAC in URL-safe base64.
public struct SessionToken: Sendable, Equatable {
    /// 128 random bits, hex: names the session in the revocation list and the audit log.
    public var id: String
    public var user: String
    public var generation: Int64
    /// When the login happened: the absolute lifetime counts from here.
    public var startedAt: Int64
    /// When the cookie was last renewed: the idle timeout counts from here.
    public var renewedAt: Int64

    public init(id: String, user: String, generation: Int64, startedAt: Int64, renewedAt: Int64) {
        self.id = id
        self.user = user
        self.generation = generation
        self.startedAt = startedAt
        self.renewedAt = renewedAt
    }

    static let prefix = "s1"
    /// A cookie longer than this is not even parsed.
    public static let bytesMax = 512

    public func encode(key: SymmetricKey) -> String {
        let body = [Self.prefix, id, Base64.encode(Array(user.utf8), padding: false, url: true), String(generation),
                    String(startedAt), String(renewedAt)].joined(separator: ".")
        return body + "." + WebKey.mac(body, key: key)
    }

    /// The token in `text` if its MAC is right; nil for anything malformed or forged.
    public static func decode(_ text: String, key: SymmetricKey) -> SessionToken? {
        guard text.utf8.count <= bytesMax, let (fields, _) = WebKey.verified(text, prefix: prefix, fieldCount: 6, key: key),
              isHexID(fields[1]),
              let userBytes = Base64.decode(fields[2]), let user = String(validating: userBytes, as: UTF8.self),
              let generation = decimal(fields[3]), let started = decimal(fields[4]), let renewed = decimal(fields[5]) else {
            return nil
        }
        return SessionToken(id: String(fields[1]), user: user, generation: generation, startedAt: started, renewedAt: renewed)
    }
}

/// A short-lived, single-use ticket that carries a session to another blade's origin when the
/// active manager moves (the browser's cookie belongs to the old blade's address). The open page
/// holds the latest ticket in memory and posts it, in a form body (never a URL), to the new
/// active manager, which starts the same session there (same id, same start, same user
/// generation). Each blade accepts a ticket id once.
///
/// `t1.TICKETID.SID.USER.GENERATION.STARTED.EXPIRES.MAC`.
public struct TransferTicket: Sendable, Equatable {
    public var id: String
    public var session: SessionToken
    public var expiresAt: Int64

    public init(id: String, session: SessionToken, expiresAt: Int64) {
        self.id = id
        self.session = session
        self.expiresAt = expiresAt
    }

    static let prefix = "t1"

    public func encode(key: SymmetricKey) -> String {
        let body = [Self.prefix, id, session.id, Base64.encode(Array(session.user.utf8), padding: false, url: true),
                    String(session.generation), String(session.startedAt), String(expiresAt)].joined(separator: ".")
        return body + "." + WebKey.mac(body, key: key)
    }

    public static func decode(_ text: String, key: SymmetricKey) -> TransferTicket? {
        guard text.utf8.count <= SessionToken.bytesMax,
              let (fields, _) = WebKey.verified(text, prefix: prefix, fieldCount: 7, key: key),
              isHexID(fields[1]), isHexID(fields[2]),
              let userBytes = Base64.decode(fields[3]), let user = String(validating: userBytes, as: UTF8.self),
              let generation = decimal(fields[4]), let started = decimal(fields[5]), let expires = decimal(fields[6]) else {
            return nil
        }
        let session = SessionToken(id: String(fields[2]), user: user, generation: generation, startedAt: started,
                                   renewedAt: started)
        return TransferTicket(id: String(fields[1]), session: session, expiresAt: expires)
    }
}

/// The key behind sessions and tickets, and the helpers that sign and check with it.
public enum WebKey {
    /// Reads a key file written by the engine: 64 hex digits and a newline.
    public static func load(path: String) throws -> SymmetricKey {
        SymmetricKey(data: try readKeyFile(path: path, what: "the web key"))
    }

    /// The 32 bytes of a key file the engine writes for the web app (`web.key`, `site.key`):
    /// 64 hex digits and a newline.
    static func readKeyFile(path: String, what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PasswordHash.Problem("cannot read \(what) \(path)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Hex.decode(text), bytes.count == 32 else {
            throw PasswordHash.Problem("\(what) \(path) is not 64 hex digits")
        }
        return bytes
    }

    static func mac(_ body: String, key: SymmetricKey) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: key)
        return Base64.encode(Array(code), padding: false, url: true)
    }

    /// Splits `text` into its fields if the prefix, the count and the MAC are right.
    static func verified(_ text: String, prefix: String, fieldCount: Int, key: SymmetricKey) -> ([Substring], String)? {
        guard let lastDot = text.lastIndex(of: ".") else { return nil }
        let body = text[..<lastDot]
        let fields = body.split(separator: ".", omittingEmptySubsequences: false)
        guard fields.count == fieldCount, fields[0] == prefix,
              let given = Base64.decode(text[text.index(after: lastDot)...]), given.count == 32 else { return nil }
        guard HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Array(body.utf8), using: key) else { return nil }
        return (fields, String(body))
    }
}

/// `cm_ID_SECRET`: ID is 16 hex digits (the token's name in listings and the audit log), SECRET
/// 43 characters of URL-safe base64 (256 bits). Only SHA-256(SECRET) is stored.
public enum APIToken {
    public static let prefix = "cm_"

    public struct Minted: Sendable {
        public var id: String
        public var secretHash: String
        /// Shown once, never stored.
        public var text: String
    }

    public static func mint<R: RandomNumberGenerator>(using random: inout R) -> Minted {
        let id = Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255, using: &random) })
        let secret = Base64.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }, padding: false, url: true)
        return Minted(id: id, secretHash: hash(secret: secret), text: prefix + id + "_" + secret)
    }

    public static func hash(secret: String) -> String {
        Hex.encode(Array(SHA256.hash(data: Array(secret.utf8))))
    }

    /// The id and secret of a presented token, if it has the shape of one.
    public static func parse(_ text: String) -> (id: String, secret: String)? {
        guard text.utf8.count <= 128, text.hasPrefix(prefix) else { return nil }
        let rest = text.dropFirst(prefix.count)
        guard let underscore = rest.firstIndex(of: "_") else { return nil }
        let id = rest[..<underscore]
        let secret = rest[rest.index(after: underscore)...]
        guard id.utf8.count == 16, isHexID(id), secret.utf8.count == 43, Base64.decode(secret)?.count == 32 else { return nil }
        return (String(id), String(secret))
    }
}

/// A random identifier of `bytes` bytes, hex.
public func randomID<R: RandomNumberGenerator>(bytes: Int = 16, using random: inout R) -> String {
    Hex.encode((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &random) })
}

func isHexID<S: StringProtocol>(_ text: S) -> Bool {
    !text.isEmpty && text.utf8.count <= 64
        && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
}

func decimal(_ text: Substring) -> Int64? {
    guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
    return Int64(text)
}
