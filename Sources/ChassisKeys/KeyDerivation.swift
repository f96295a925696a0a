import Crypto

/// Keys for other purposes derived from the chassis' shared cluster key (HKDF-SHA256), so that
/// every blade computes the same ones and none has to travel: the web app's session key is one.
/// Knowing a derived key reveals nothing of the cluster key.
public enum KeyDerivation {
    /// The web app's key for sessions and transfer tickets.
    public static let webSessionsPurpose = "chassis-manager/web-sessions/v1"
    /// The web app's site key (`site.key`), derived from the site's shared key, not the cluster key.
    public static let sitePurpose = "chassis-manager/site/v1"

    public static func derive(from secret: [UInt8], purpose: String, bytes: Int = 32) -> [UInt8] {
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), salt: Array("chassis-manager".utf8),
                                         info: Array(purpose.utf8), outputByteCount: bytes)
        return key.withUnsafeBytes { Array($0) }
    }
}

/// How one engine proves to another blade's web app that it holds the cluster key, without
/// sending it: `m1.SECONDS.MAC`, an HMAC-SHA256 of `m1.SECONDS` with the web key (derived from
/// the cluster key), accepted within a minute of the receiver's clock. A blade joining with
/// `join_via` sends it as `Authorization: Chassis-Member …` to read `/api/v1/cluster` over plain
/// HTTP before it has anything else.
public enum MemberCredential {
    public static let scheme = "Chassis-Member"
    public static let prefix = "m1"
    public static let skewSecondsMax: Int64 = 60

    public static func make(webKey: [UInt8], seconds: Int64) -> String {
        let body = "\(prefix).\(seconds)"
        let code = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: webKey))
        return body + "." + Hex.encode(Array(code))
    }

    /// Whether `text` is a credential made with `webKey` within the allowed skew of `seconds`.
    public static func verify(_ text: String, webKey: [UInt8], seconds: Int64) -> Bool {
        let fields = text.split(separator: ".", omittingEmptySubsequences: false)
        guard text.utf8.count <= 128, fields.count == 3, fields[0] == prefix, fields[1].utf8.count <= 18,
              fields[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let made = Int64(fields[1]),
              abs(made - seconds) <= skewSecondsMax, fields[2].utf8.allSatisfy({ $0 < 0x41 || $0 > 0x46 }),
              let given = Hex.decode(fields[2]), given.count == 32 else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Array("\(prefix).\(fields[1])".utf8),
                                                      using: SymmetricKey(data: webKey))
    }
}

/// Lower-case hex.
public enum Hex {
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode<S: StringProtocol>(_ text: S) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func value(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - 48
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - 97 + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - 65 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}
