import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftASN1
import X509

/// What the engine needs to know of a certificate to decide whether to renew it, and what an
/// operator is shown of it: its validity, its names, who issued it, and whether it is an
/// authority.
///
/// A summary reads any X.509 certificate, also one an operator configured himself (RSA or
/// another curve); only the chassis authority's own certificates are P-256.
public struct CertificateSummary: Equatable, Sendable {
    /// The start of the certificate's validity.
    public var notBefore: Date
    /// The end of the certificate's validity.
    public var notAfter: Date
    /// The DNS names of its subject alternative names, in the certificate's order.
    public var dnsNames: [String]
    /// The IP addresses of its subject alternative names, as canonical text, in its order.
    public var ipAddresses: [String]
    /// The issuer's distinguished name, most specific part first (`CN=…,O=…`).
    public var issuer: String
    /// The subject's distinguished name, most specific part first (`CN=…,O=…`).
    public var subject: String
    /// Whether the certificate is a certificate authority (basic constraints CA:true).
    public var isCA: Bool
    /// The serial number in hexadecimal, bytes separated by colons.
    public var serialNumber: String
    /// The SHA-256 fingerprint of the certificate's DER bytes, in upper-case hexadecimal bytes
    /// separated by colons, as browsers and `openssl x509 -fingerprint -sha256` show it.
    public var sha256Fingerprint: String

    /// The parsed certificate, kept to check signatures against an authority.
    let certificate: Certificate

    /// Reads the first certificate of a PEM text (a chain file gives its first certificate).
    ///
    /// - Throws: `CertificateError` of kind `malformedPEM` when the text holds no certificate
    ///   block or the block does not decode; never traps on malformed input.
    public static func parse(pem: String) throws -> CertificateSummary {
        let certificate = try PEM.certificate(pem, what: "the certificate text")
        var dnsNames: [String] = []
        var ipAddresses: [String] = []
        var isCA = false
        do {
            if let names = try certificate.extensions.subjectAlternativeNames {
                for name in names {
                    switch name {
                    case .dnsName(let dns): dnsNames.append(dns)
                    case .ipAddress(let octets):
                        ipAddresses.append(IPAddress.text(of: octets.bytes) ?? octets.bytes.map { String($0) }.joined(separator: "."))
                    default: break
                    }
                }
            }
            if case .some(.isCertificateAuthority) = try certificate.extensions.basicConstraints { isCA = true }
        } catch {
            throw CertificateError(.malformedPEM, "the certificate's extensions do not decode: \(error)")
        }
        var serializer = DER.Serializer()
        do {
            try serializer.serialize(certificate)
        } catch {
            throw CertificateError(.malformedPEM, "the certificate does not encode again: \(error)")
        }
        let digest = SHA256.hash(data: serializer.serializedBytes)
        return CertificateSummary(
            notBefore: certificate.notValidBefore,
            notAfter: certificate.notValidAfter,
            dnsNames: dnsNames,
            ipAddresses: ipAddresses,
            issuer: certificate.issuer.description,
            subject: certificate.subject.description,
            isCA: isCA,
            serialNumber: certificate.serialNumber.bytes.map { hex($0) }.joined(separator: ":"),
            sha256Fingerprint: digest.map { hex($0).uppercased() }.joined(separator: ":"),
            certificate: certificate)
    }

    /// Tells whether this certificate was issued by the given authority: the authority is a CA,
    /// this certificate names it as issuer, and its signature verifies with the authority's
    /// public key. A certificate from an earlier authority of the same chassis (same name, another
    /// key) is therefore not issued by the current one.
    public func isIssued(by authority: CertificateSummary) -> Bool {
        authority.isCA
            && certificate.issuer == authority.certificate.subject
            && authority.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    /// Says why this certificate should be replaced, or nil when it is good for now.
    ///
    /// The reasons, checked in this order: it was not issued by the current authority; its
    /// validity has not begun (a clock that was ahead when it was issued); it expires within
    /// `renewBeforeDays` days of `now` (or has expired); its names differ from the wanted ones.
    /// Names are compared as sets: DNS names without case and without a trailing dot, addresses
    /// by their bytes (so `::1` and `0:0::1` are the same).
    ///
    /// - Parameters:
    ///   - wantedDNSNames: The DNS names the blade's certificate should carry now.
    ///   - wantedIPAddresses: The addresses the blade's certificate should carry now.
    ///   - currentCA: The chassis authority now in force.
    ///   - now: The current time.
    ///   - renewBeforeDays: How many days before its end a certificate is renewed (45 by default,
    ///     so that a 90-day certificate is renewed half way, and an expiry within 30 days, which
    ///     is an alert, means renewal has failed for two weeks).
    public func renewalReason(
        wantedDNSNames: [String],
        wantedIPAddresses: [String],
        currentCA: CertificateSummary,
        now: Date,
        renewBeforeDays: Int = 45
    ) -> RenewalReason? {
        if !isIssued(by: currentCA) { return .issuedByAnotherAuthority(issuer: issuer) }
        if now < notBefore { return .notYetValid(notBefore: notBefore) }
        if notAfter.timeIntervalSince(now) <= Double(renewBeforeDays) * 86_400 { return .expiresSoon(notAfter: notAfter) }
        let have = Set(dnsNames.map(Self.dnsKey)).union(ipAddresses.map(Self.addressKey))
        let want = Set(wantedDNSNames.map(Self.dnsKey)).union(wantedIPAddresses.map(Self.addressKey))
        if have != want {
            return .namesDiffer(missing: want.subtracting(have).map(\.display).sorted(),
                                extra: have.subtracting(want).map(\.display).sorted())
        }
        return nil
    }

    /// Tells whether this certificate should be replaced: see `renewalReason` for the rules.
    public func needsRenewal(
        wantedDNSNames: [String],
        wantedIPAddresses: [String],
        currentCA: CertificateSummary,
        now: Date,
        renewBeforeDays: Int = 45
    ) -> Bool {
        renewalReason(wantedDNSNames: wantedDNSNames, wantedIPAddresses: wantedIPAddresses,
                      currentCA: currentCA, now: now, renewBeforeDays: renewBeforeDays) != nil
    }

    /// A name as compared: its kind and normalized form, and the text to show.
    private struct NameKey: Hashable {
        var kind: UInt8
        var key: String
        var display: String { key }
    }

    private static func dnsKey(_ name: String) -> NameKey {
        var lowered = name.trimmedWhitespace().lowercased()
        if lowered.hasSuffix(".") { lowered.removeLast() }
        return NameKey(kind: 0, key: lowered)
    }

    private static func addressKey(_ address: String) -> NameKey {
        let trimmed = address.trimmedWhitespace()
        return NameKey(kind: 1, key: IPAddress.canonical(trimmed) ?? trimmed.lowercased())
    }
}

/// Why a server certificate should be replaced.
public enum RenewalReason: Equatable, Sendable, CustomStringConvertible {
    /// Another authority signed it (an earlier chassis authority, or an operator's own).
    case issuedByAnotherAuthority(issuer: String)
    /// Its validity begins after now.
    case notYetValid(notBefore: Date)
    /// It ends within the renewal window, or has ended.
    case expiresSoon(notAfter: Date)
    /// It lacks names the blade needs now, or carries names it should no longer carry.
    case namesDiffer(missing: [String], extra: [String])

    /// A sentence for the engine's log.
    public var description: String {
        switch self {
        case .issuedByAnotherAuthority(let issuer):
            return "the certificate was issued by \(issuer), not by the current chassis authority"
        case .notYetValid(let notBefore):
            return "the certificate is valid only from \(notBefore)"
        case .expiresSoon(let notAfter):
            return "the certificate expires at \(notAfter)"
        case .namesDiffer(let missing, let extra):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("it lacks \(missing.joined(separator: ", "))") }
            if !extra.isEmpty { parts.append("it still names \(extra.joined(separator: ", "))") }
            return "the certificate's names differ from the wanted ones: " + parts.joined(separator: "; ")
        }
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}
