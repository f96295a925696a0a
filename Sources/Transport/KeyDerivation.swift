import Crypto

/// Keys for other purposes derived from the chassis' shared cluster key (HKDF-SHA256), so that
/// every blade computes the same ones and none has to travel: the web app's session key is one.
/// Knowing a derived key reveals nothing of the cluster key.
public enum KeyDerivation {
    /// The web app's key for sessions and transfer tickets.
    public static let webSessionsPurpose = "chassis-manager/web-sessions/v1"

    public static func derive(from secret: [UInt8], purpose: String, bytes: Int = 32) -> [UInt8] {
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), salt: Array("chassis-manager".utf8),
                                         info: Array(purpose.utf8), outputByteCount: bytes)
        return key.withUnsafeBytes { Array($0) }
    }
}
