import ChassisKeys
import Crypto
import CryptoExtras
import Foundation

/// Passwords hashed with scrypt (memory-hard), a per-user random salt, and the parameters stored
/// with the hash as a PHC string: `$scrypt$ln=15,r=8,p=1$SALT$HASH` (salt and hash in base64
/// without padding). Verifying reads the parameters from the string, within bounds, so a hash
/// made with other costs still verifies and a hostile string cannot ask for gigabytes.
public enum PasswordHash {
    public struct Parameters: Sendable, Equatable {
        /// log2 of scrypt's N (CPU and memory cost): 15 is 32 MiB with r = 8.
        public var logRounds: Int
        public var blockSize: Int
        public var parallelism: Int

        public init(logRounds: Int, blockSize: Int, parallelism: Int) {
            self.logRounds = logRounds
            self.blockSize = blockSize
            self.parallelism = parallelism
        }

        /// 2^15 × 8 × 128 bytes = 32 MiB of memory a hash: memory-hard enough to make guessing on
        /// graphics cards costly, small enough for two concurrent logins on a blade's web app.
        public static let standard = Parameters(logRounds: 15, blockSize: 8, parallelism: 1)
        /// For unit tests only.
        public static let fast = Parameters(logRounds: 10, blockSize: 8, parallelism: 1)

        /// What a stored hash may ask for, each parameter and together: at most 256 MiB (2^18 × 8
        /// × 128 bytes) and the same work, so a hostile hash cannot exhaust a blade's memory.
        static let logRoundsRange = 10...18
        static let blockSizeRange = 1...16
        static let parallelismRange = 1...4
        static let memoryBytesMax = 1 << 28

        var memoryBytes: Int { (1 << logRounds) * blockSize * 128 * parallelism }
    }

    public static let saltBytes = 16
    public static let hashBytes = 32
    /// Longer passwords are refused before hashing (scrypt would take them, but nobody types more).
    public static let passwordBytesMax = 1_024
    public static let passwordBytesMin = 8

    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Checks a new password's shape; nothing about its content is logged.
    public static func problem(withNewPassword password: String) -> String? {
        let count = password.utf8.count
        if count < passwordBytesMin { return "the password must be at least \(passwordBytesMin) characters" }
        if count > passwordBytesMax { return "the password must be at most \(passwordBytesMax) bytes" }
        if password.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "the password contains a control character"
        }
        return nil
    }

    /// Hashes a password with a fresh salt from `random`.
    public static func make<R: RandomNumberGenerator>(password: String, parameters: Parameters = .standard,
                                                      using random: inout R) throws -> String {
        var salt = [UInt8](repeating: 0, count: saltBytes)
        for index in salt.indices { salt[index] = UInt8.random(in: 0...255, using: &random) }
        let hash = try derive(password: password, salt: salt, parameters: parameters)
        return "$scrypt$ln=\(parameters.logRounds),r=\(parameters.blockSize),p=\(parameters.parallelism)$"
            + Base64.encode(salt, padding: false) + "$" + Base64.encode(hash, padding: false)
    }

    public static func make(password: String, parameters: Parameters = .standard) throws -> String {
        var random = SystemRandomNumberGenerator()
        return try make(password: password, parameters: parameters, using: &random)
    }

    /// Whether `password` matches `stored`; false for a malformed stored string. Constant time in
    /// the comparison of the hashes.
    public static func verify(password: String, stored: String) -> Bool {
        guard password.utf8.count <= passwordBytesMax, let parsed = try? parse(stored),
              let hash = try? derive(password: password, salt: parsed.salt, parameters: parsed.parameters),
              hash.count == parsed.hash.count else {
            return false
        }
        return constantTimeEqual(hash, parsed.hash)
    }

    /// A hash of a random password, verified against when the user does not exist, so that a
    /// login for an unknown name takes as long as one for a known name.
    public static let decoy: String = (try? make(password: "decoy-\(UInt64.random(in: 0...UInt64.max))")) ?? ""

    public static func parse(_ stored: String) throws -> (parameters: Parameters, salt: [UInt8], hash: [UInt8]) {
        let fields = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].isEmpty, fields[1] == "scrypt" else { throw Problem("not a $scrypt$ hash") }
        var values: [String: Int] = [:]
        for part in fields[2].split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[1].utf8.count <= 3, pair[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let value = Int(pair[1]) else { throw Problem("bad scrypt parameter \(part.prefix(16))") }
            values[String(pair[0])] = value
        }
        guard let logRounds = values["ln"], let blockSize = values["r"], let parallelism = values["p"] else {
            throw Problem("scrypt parameters ln, r and p are required")
        }
        let parameters = Parameters(logRounds: logRounds, blockSize: blockSize, parallelism: parallelism)
        guard Parameters.logRoundsRange.contains(logRounds), Parameters.blockSizeRange.contains(blockSize),
              Parameters.parallelismRange.contains(parallelism), parameters.memoryBytes <= Parameters.memoryBytesMax else {
            throw Problem("scrypt parameters out of range")
        }
        guard let salt = Base64.decode(fields[3]), salt.count >= 8, salt.count <= 64,
              let hash = Base64.decode(fields[4]), hash.count >= 16, hash.count <= 64 else {
            throw Problem("bad salt or hash")
        }
        return (parameters, salt, hash)
    }

    static func derive(password: String, salt: [UInt8], parameters: Parameters) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: hashBytes,
                                           rounds: 1 << parameters.logRounds, blockSize: parameters.blockSize,
                                           parallelism: parameters.parallelism,
                                           maxMemory: parameters.memoryBytes + (1 << 20))
        return key.withUnsafeBytes { Array($0) }
    }
}

/// Compares two byte strings in time that depends only on their length.
public func constantTimeEqual<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool where A.Element == UInt8, B.Element == UInt8 {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}

/// Base64 (standard alphabet, or URL-safe) with or without padding; strict on decode.
public enum Base64 {
    private static let standard = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlSafe = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode<C: Collection>(_ bytes: C, padding: Bool = true, url: Bool = false) -> String where C.Element == UInt8 {
        let alphabet = url ? urlSafe : standard
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            out += [alphabet[Int(chunk >> 18 & 63)], alphabet[Int(chunk >> 12 & 63)], alphabet[Int(chunk >> 6 & 63)],
                    alphabet[Int(chunk & 63)]]
            index += 3
        }
        let rest = input.count - index
        if rest == 1 {
            let chunk = UInt32(input[index]) << 16
            out += [alphabet[Int(chunk >> 18 & 63)], alphabet[Int(chunk >> 12 & 63)]]
            if padding { out += Array("==".utf8) }
        } else if rest == 2 {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            out += [alphabet[Int(chunk >> 18 & 63)], alphabet[Int(chunk >> 12 & 63)], alphabet[Int(chunk >> 6 & 63)]]
            if padding { out += Array("=".utf8) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes either alphabet, padded or not; nil for anything else.
    public static func decode<S: StringProtocol>(_ text: S) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        var padding = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0 else { return nil }
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte - 48 + 52)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "/"), UInt8(ascii: "_"): values.append(63)
            default: return nil
            }
        }
        guard padding <= 2, values.count % 4 != 1, padding == 0 || (values.count + padding) % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index + 4 <= values.count {
            let chunk = UInt32(values[index]) << 18 | UInt32(values[index + 1]) << 12 | UInt32(values[index + 2]) << 6
                | UInt32(values[index + 3])
            out += [UInt8(chunk >> 16 & 255), UInt8(chunk >> 8 & 255), UInt8(chunk & 255)]
            index += 4
        }
        let rest = values.count - index
        // Canonical only: the bits past the last byte must be zero, so each byte string has one
        // spelling (a MAC cannot be written four ways).
        if rest == 2 {
            guard values[index + 1] & 0x0F == 0 else { return nil }
            out.append(UInt8((UInt32(values[index]) << 2 | UInt32(values[index + 1]) >> 4) & 255))
        } else if rest == 3 {
            guard values[index + 2] & 0x03 == 0 else { return nil }
            let chunk = UInt32(values[index]) << 18 | UInt32(values[index + 1]) << 12 | UInt32(values[index + 2]) << 6
            out += [UInt8(chunk >> 16 & 255), UInt8(chunk >> 8 & 255)]
        }
        return out
    }
}
