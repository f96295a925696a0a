/// An error of the certificate authority, or of a certificate summary.
///
/// Every error says in a sentence what was wrong with the input, so that the engine can log it
/// and an operator can act on it. The kind lets a caller tell the cases apart without matching
/// text.
public struct CertificateError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, in broad classes.
    public enum Kind: String, Equatable, Sendable {
        /// A PEM text that holds no block of the expected type, or a block whose contents do not
        /// decode (a truncated file, a wrong file, base64 damage).
        case malformedPEM
        /// A private key that does not belong to the certificate it was given with.
        case keyMismatch
        /// A key of a type this authority does not use (it uses ECDSA P-256 only).
        case unsupportedKey
        /// A certificate given as the authority that is not a certificate authority.
        case notAnAuthority
        /// A host name, address, common name or number of days that cannot go into a certificate.
        case invalidArgument
        /// The random number generator gave no usable private key after many attempts.
        case randomnessExhausted
        /// Building or signing the certificate failed inside the X.509 library.
        case signingFailed
    }

    /// The class of the error.
    public var kind: Kind
    /// A sentence that says what was wrong.
    public var description: String

    /// Creates an error of the given kind with a sentence that describes it.
    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
