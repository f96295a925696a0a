import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftASN1
import X509

/// A certificate and its private key, both as PEM text (the key in PKCS #8, `PRIVATE KEY`), as
/// nginx reads them from `ssl_certificate` and `ssl_certificate_key`.
public struct CertificateAndKey: Equatable, Sendable {
    /// The certificate, one `-----BEGIN CERTIFICATE-----` block ending in a newline.
    public var certificatePEM: String
    /// The private key, one `-----BEGIN PRIVATE KEY-----` block ending in a newline.
    public var privateKeyPEM: String

    /// Creates the pair from its two PEM texts.
    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// The chassis' own certificate authority: it creates the authority once, at the chassis' first
/// start, and issues every blade a server certificate that names the blade's addresses and the
/// chassis' names, so that an operator who trusts the authority once trusts every blade,
/// including the one that takes over.
///
/// Everything here is computation on values: the time and the random number generator are
/// parameters, and no file, clock or global randomness is touched. The keys and serial numbers
/// come from the generator, so a seeded generator gives the same keys again; the ECDSA
/// signatures themselves take their per-signature nonce from the cryptography library, so the
/// certificates' bytes differ from run to run while their contents do not.
public enum ChassisAuthority {
    /// The authority's lifetime, in days: ten years.
    public static let authorityValidityDays = 3650
    /// A server certificate's default lifetime, in days.
    public static let serverValidityDays = 90
    /// How long before `now` a certificate's validity begins, in seconds: an hour, so that a
    /// blade or a browser whose clock runs a little behind accepts a certificate issued at once.
    public static let clockSkewAllowance: TimeInterval = 3600
    /// The organization name of every certificate the authority makes.
    public static let organization = "Chassis Manager"

    /// Creates a new chassis certificate authority: an ECDSA P-256 key and a self-signed
    /// certificate valid for ten years.
    ///
    /// The subject is `CN=Chassis Manager CA <chassisID>, OU=<chassisName>, O=Chassis Manager` (the
    /// unit is left out when the name is empty, and cut to 64 characters when longer), so that an
    /// operator's list of trusted authorities says which chassis each one belongs to. The
    /// certificate carries basic constraints (critical: a CA, path length 0, so it can sign
    /// server certificates but no further authority), key usage (critical: certificate and CRL
    /// signing), and a subject key identifier, which the certificates it issues name as their
    /// authority key identifier.
    ///
    /// - Parameters:
    ///   - chassisID: The chassis' electronically readable ID, such as `660007770088`.
    ///   - chassisName: The chassis' user-defined name at the time of creation; only a label.
    ///   - now: The current time; validity starts an hour before it.
    ///   - validityDays: The authority's lifetime in days (ten years unless a test says otherwise).
    ///   - generator: The source of the private key and the serial number.
    /// - Returns: The authority's certificate and private key, as PEM text.
    /// - Throws: `CertificateError` when the chassis ID is empty or too long for a common name.
    public static func create<G: RandomNumberGenerator>(
        chassisID: String,
        chassisName: String,
        now: Date,
        validityDays: Int = authorityValidityDays,
        using generator: inout G
    ) throws -> CertificateAndKey {
        let id = chassisID.trimmedWhitespace()
        guard !id.isEmpty else {
            throw CertificateError(.invalidArgument, "the chassis ID is empty; the authority's name needs it")
        }
        let commonName = "Chassis Manager CA \(id)"
        guard commonName.count <= 64 else {
            throw CertificateError(.invalidArgument,
                                   "the chassis ID \"\(id)\" is too long for the authority's common name (64 characters at most)")
        }
        guard validityDays > 0 else {
            throw CertificateError(.invalidArgument, "the authority's validity must be at least one day, not \(validityDays)")
        }
        let unit = String(chassisName.trimmedWhitespace().prefix(64))
        let key = try Randomness.p256Key(using: &generator)
        let serial = Randomness.serialNumber(using: &generator)
        let start = wholeSeconds(now).addingTimeInterval(-clockSkewAllowance)
        let publicKey = Certificate.PublicKey(key.publicKey)
        let keyIdentifier = SubjectKeyIdentifier(hash: publicKey)

        let certificate = try sign {
            let subject = try DistinguishedName {
                OrganizationName(organization)
                if !unit.isEmpty { OrganizationalUnitName(unit) }
                CommonName(commonName)
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                keyIdentifier
                AuthorityKeyIdentifier(keyIdentifier: keyIdentifier.keyIdentifier)
            }
            return try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(bytes: serial),
                publicKey: publicKey,
                notValidBefore: start,
                notValidAfter: wholeSeconds(now).addingTimeInterval(Double(validityDays) * 86_400),
                issuer: subject,
                subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: Certificate.PrivateKey(key))
        }
        return CertificateAndKey(certificatePEM: try PEM.text(of: certificate), privateKeyPEM: key.pemRepresentation + "\n")
    }

    /// Issues a server certificate for one blade, signed by the chassis authority.
    ///
    /// The certificate has a new ECDSA P-256 key and a random serial number, both from the
    /// generator; it is valid from an hour before `now` for `validityDays` days, but never past
    /// the authority's own end. It names `CN=<commonName>, O=Chassis Manager` and, in its subject
    /// alternative names (which browsers check, not the common name), every DNS name and IP
    /// address given, duplicates removed, DNS names in lower case. It carries extended key usage
    /// serverAuth, key usage digitalSignature (critical), basic constraints CA:false (critical),
    /// its own subject key identifier and the authority's key identifier.
    ///
    /// - Parameters:
    ///   - caCertificatePEM: The authority's certificate.
    ///   - caPrivateKeyPEM: The authority's private key (PKCS #8 or SEC 1), which must belong to it.
    ///   - commonName: A label for the certificate, such as the blade's name (1 to 64 characters).
    ///   - dnsNames: The chassis' configured host names (and, say, `localhost`).
    ///   - ipAddresses: The blade's addresses, IPv4 in dotted decimal or IPv6.
    ///   - now: The current time.
    ///   - validityDays: The lifetime in days, 90 unless said otherwise.
    ///   - generator: The source of the private key and the serial number.
    /// - Returns: The server certificate and its private key, as PEM text.
    /// - Throws: `CertificateError` for malformed PEM, a key that does not belong to the
    ///   authority's certificate, a certificate that is no authority, an invalid name or address,
    ///   no name at all, or an authority that has expired at `now`.
    public static func issue<G: RandomNumberGenerator>(
        caCertificatePEM: String,
        caPrivateKeyPEM: String,
        commonName: String,
        dnsNames: [String],
        ipAddresses: [String],
        now: Date,
        validityDays: Int = serverValidityDays,
        using generator: inout G
    ) throws -> CertificateAndKey {
        let ca = try PEM.certificate(caCertificatePEM, what: "the authority's certificate")
        let caKey = try PEM.p256PrivateKey(caPrivateKeyPEM, what: "the authority's private key")
        guard Certificate.PublicKey(caKey.publicKey) == ca.publicKey else {
            throw CertificateError(.keyMismatch, "the authority's private key does not belong to the authority's certificate")
        }
        guard case .some(.isCertificateAuthority) = try? ca.extensions.basicConstraints else {
            throw CertificateError(.notAnAuthority,
                                   "the certificate given as the authority (\(ca.subject)) is not a certificate authority")
        }
        let label = commonName.trimmedWhitespace()
        guard !label.isEmpty, label.count <= 64 else {
            throw CertificateError(.invalidArgument, "the common name must be 1 to 64 characters, not \"\(commonName)\"")
        }
        guard validityDays > 0 else {
            throw CertificateError(.invalidArgument, "a certificate's validity must be at least one day, not \(validityDays)")
        }
        let names = try normalizedDNSNames(dnsNames)
        let addresses = try ipAddresses.map { text -> [UInt8] in
            guard let bytes = IPAddress.bytes(of: text.trimmedWhitespace()) else {
                throw CertificateError(.invalidArgument, "\"\(text)\" is not an IP address")
            }
            return bytes
        }.uniqued()
        guard !names.isEmpty || !addresses.isEmpty else {
            throw CertificateError(.invalidArgument, "a server certificate needs at least one DNS name or IP address")
        }
        let issued = wholeSeconds(now)
        guard issued < ca.notValidAfter else {
            throw CertificateError(.invalidArgument, "the authority expired at \(ca.notValidAfter); create a new one")
        }
        let end = min(issued.addingTimeInterval(Double(validityDays) * 86_400), ca.notValidAfter)

        let key = try Randomness.p256Key(using: &generator)
        let serial = Randomness.serialNumber(using: &generator)
        let publicKey = Certificate.PublicKey(key.publicKey)
        let authorityKeyID = (try? ca.extensions.subjectKeyIdentifier)?.keyIdentifier
            ?? SubjectKeyIdentifier(hash: ca.publicKey).keyIdentifier
        let alternativeNames = names.map { GeneralName.dnsName($0) }
            + addresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }

        let certificate = try sign {
            let subject = try DistinguishedName {
                OrganizationName(organization)
                CommonName(label)
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternativeNames)
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: authorityKeyID)
            }
            return try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(bytes: serial),
                publicKey: publicKey,
                notValidBefore: max(issued.addingTimeInterval(-clockSkewAllowance), ca.notValidBefore),
                notValidAfter: end,
                issuer: ca.subject,
                subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: Certificate.PrivateKey(caKey))
        }
        return CertificateAndKey(certificatePEM: try PEM.text(of: certificate), privateKeyPEM: key.pemRepresentation + "\n")
    }

    /// Tells whether a private key belongs to a certificate, as nginx requires of
    /// `ssl_certificate` and `ssl_certificate_key` (it refuses to start otherwise).
    ///
    /// - Throws: `CertificateError` when either PEM text is malformed or the key is not P-256.
    public static func keyMatches(certificatePEM: String, privateKeyPEM: String) throws -> Bool {
        let certificate = try PEM.certificate(certificatePEM, what: "the certificate")
        let key = try PEM.p256PrivateKey(privateKeyPEM, what: "the private key")
        return Certificate.PublicKey(key.publicKey) == certificate.publicKey
    }

    /// Returns the DNS names lower-cased, without a trailing dot and without duplicates, in the
    /// order given, after checking each is a host name a certificate may carry: labels of 1 to
    /// 63 letters, digits and hyphens (not at either end), 253 characters in all. Wildcards are
    /// refused: a blade is named exactly.
    static func normalizedDNSNames(_ names: [String]) throws -> [String] {
        try names.map { raw -> String in
            var name = raw.trimmedWhitespace().lowercased()
            if name.hasSuffix(".") { name.removeLast() }
            let labels = name.split(separator: ".", omittingEmptySubsequences: false)
            let valid = !name.isEmpty && name.utf8.count <= 253 && labels.allSatisfy { label in
                !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                    && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
            }
            guard valid else {
                throw CertificateError(.invalidArgument, "\"\(raw)\" is not a host name a certificate can carry")
            }
            guard IPAddress.bytes(of: name) == nil else {
                throw CertificateError(.invalidArgument, "\"\(raw)\" is an IP address; give it among the IP addresses")
            }
            return name
        }.uniqued()
    }

    /// Runs the certificate construction and turns the X.509 library's errors into ours.
    private static func sign(_ body: () throws -> Certificate) throws -> Certificate {
        do {
            return try body()
        } catch let error as CertificateError {
            throw error
        } catch {
            throw CertificateError(.signingFailed, "the certificate could not be built or signed: \(error)")
        }
    }

    /// X.509 times have whole seconds; dropping the fraction here keeps `notBefore` and
    /// `notAfter` exactly as written.
    static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }
}

extension Array where Element: Hashable {
    /// The elements in their first order, each once.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
