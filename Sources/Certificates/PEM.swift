import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftASN1
import X509

/// Reading certificates and keys from PEM text, with errors that say what was wrong.
enum PEM {
    /// Returns the first `-----BEGIN CERTIFICATE-----` block of a PEM text as a certificate.
    ///
    /// A file with a chain (a server certificate followed by its issuers) gives its first
    /// certificate; anything before or after the block is ignored, as openssl ignores it.
    static func certificate(_ text: String, what: String) throws -> Certificate {
        guard let block = firstBlock(of: text, label: "CERTIFICATE") else {
            throw CertificateError(.malformedPEM, "\(what) holds no PEM block \"-----BEGIN CERTIFICATE-----\"")
        }
        do {
            return try Certificate(pemEncoded: block)
        } catch {
            throw CertificateError(.malformedPEM, "\(what) is a PEM certificate block that does not decode: \(error)")
        }
    }

    /// Returns the ECDSA P-256 private key of a PEM text, in PKCS #8 (`PRIVATE KEY`) or SEC 1
    /// (`EC PRIVATE KEY`) form.
    static func p256PrivateKey(_ text: String, what: String) throws -> P256.Signing.PrivateKey {
        let block = firstBlock(of: text, label: "PRIVATE KEY") ?? firstBlock(of: text, label: "EC PRIVATE KEY")
        guard let block else {
            throw CertificateError(.malformedPEM,
                                   "\(what) holds no PEM block \"-----BEGIN PRIVATE KEY-----\" or \"-----BEGIN EC PRIVATE KEY-----\"")
        }
        do {
            return try P256.Signing.PrivateKey(pemRepresentation: block)
        } catch {
            if (try? Certificate.PrivateKey(pemEncoded: block)) != nil {
                throw CertificateError(.unsupportedKey, "\(what) is not an ECDSA P-256 key (the chassis authority uses P-256 only)")
            }
            throw CertificateError(.malformedPEM, "\(what) is a PEM private key block that does not decode: \(error)")
        }
    }

    /// Returns the PEM text of a certificate.
    static func text(of certificate: Certificate) throws -> String {
        do {
            return try certificate.serializeAsPEM().pemString + "\n"
        } catch {
            throw CertificateError(.signingFailed, "the certificate could not be encoded: \(error)")
        }
    }

    /// Returns the first block with the given label, from its BEGIN line to its END line, or nil.
    static func firstBlock(of text: String, label: String) -> String? {
        let begin = "-----BEGIN \(label)-----"
        let end = "-----END \(label)-----"
        guard let start = text.firstRange(of: begin, from: text.startIndex),
              let finish = text.firstRange(of: end, from: start.upperBound) else { return nil }
        return String(text[start.lowerBound..<finish.upperBound])
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and line breaks (FoundationEssentials has no
    /// `trimmingCharacters`).
    func trimmedWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }

    /// The range of the first occurrence of `needle` at or after `from`.
    func firstRange(of needle: String, from start: Index) -> Range<Index>? {
        var index = start
        while index < endIndex {
            if self[index...].hasPrefix(needle) { return index..<self.index(index, offsetBy: needle.count) }
            index = self.index(after: index)
        }
        return nil
    }
}
