// A stand-in for swift-crypto's `CryptoExtras` module, for the http fuzz target only: the one
// function Sources/Access/PasswordHash.swift calls (scrypt), so that the Access files that parse
// cookies, tickets and tokens compile with swiftc alone. The fuzz entries never hash a password;
// a call stops the target with a message instead of returning a wrong key.
import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public enum KDF {
    public enum Scrypt {
        public static func deriveKey<Password: DataProtocol, Salt: DataProtocol>(
            from password: Password, salt: Salt, outputByteCount: Int, rounds: Int, blockSize: Int, parallelism: Int,
            maxMemory: Int? = nil) throws -> SymmetricKey {
            fatalError("scrypt is not part of the fuzz build (Fuzz/Support/CryptoExtras.swift)")
        }
    }
}
