import Foundation
import Testing
@testable import Certificates

/// The certificates as a real TLS stack sees them: openssl verifies the chain for a TLS server,
/// prints the names, reads the keys, and refuses a certificate from another authority.
@Suite(.enabled(if: opensslPath != nil, "the openssl tool is not installed"))
struct OpenSSLTests {
    /// openssl checks validity against the real clock, so these certificates are made now.
    let now = Date()

    func authority(seed: UInt64, id: String = "660007770088") throws -> CertificateAndKey {
        var generator = SeededGenerator(seed: seed)
        return try ChassisAuthority.create(chassisID: id, chassisName: "Demo chassis", now: now, using: &generator)
    }

    func server(_ ca: CertificateAndKey, seed: UInt64) throws -> CertificateAndKey {
        var generator = SeededGenerator(seed: seed)
        return try ChassisAuthority.issue(caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM,
                                          commonName: "blade1", dnsNames: ["chassis.example", "localhost"],
                                          ipAddresses: ["127.0.1.9", "::1"], now: now, using: &generator)
    }

    @Test func theServerCertificateVerifiesForATLSServer() throws {
        let directory = try TemporaryDirectory()
        let ca = try authority(seed: 11)
        let leaf = try server(ca, seed: 12)
        let caFile = try directory.write("ca.pem", ca.certificatePEM)
        let leafFile = try directory.write("leaf.pem", leaf.certificatePEM)
        let result = try openssl(["verify", "-x509_strict", "-CAfile", caFile, "-purpose", "sslserver", leafFile])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("leaf.pem: OK"))
        // The names a browser checks: the host name and the address.
        let hostCheck = try openssl(["verify", "-CAfile", caFile, "-purpose", "sslserver",
                                     "-verify_hostname", "chassis.example", leafFile])
        #expect(hostCheck.status == 0, "\(hostCheck.output)")
        let addressCheck = try openssl(["verify", "-CAfile", caFile, "-purpose", "sslserver", "-verify_ip", "127.0.1.9", leafFile])
        #expect(addressCheck.status == 0, "\(addressCheck.output)")
        let wrongAddress = try openssl(["verify", "-CAfile", caFile, "-purpose", "sslserver", "-verify_ip", "127.0.1.10", leafFile])
        #expect(wrongAddress.status != 0)
    }

    @Test func opensslShowsTheNamesAndConstraints() throws {
        let directory = try TemporaryDirectory()
        let ca = try authority(seed: 21)
        let leaf = try server(ca, seed: 22)
        let leafText = try openssl(["x509", "-noout", "-text", "-in", directory.write("leaf.pem", leaf.certificatePEM)])
        #expect(leafText.status == 0, "\(leafText.output)")
        #expect(leafText.output.contains("DNS:chassis.example, DNS:localhost, IP Address:127.0.1.9, IP Address:0:0:0:0:0:0:0:1"),
                "\(leafText.output)")
        #expect(leafText.output.contains("TLS Web Server Authentication"))
        #expect(leafText.output.contains("Digital Signature"))
        #expect(leafText.output.contains("CA:FALSE"))
        #expect(leafText.output.contains("Issuer: O = Chassis Manager, OU = Demo chassis, CN = Chassis Manager CA 660007770088"))
        #expect(leafText.output.contains("ecdsa-with-SHA256"))
        #expect(leafText.output.contains("NIST CURVE: P-256"))

        let caText = try openssl(["x509", "-noout", "-text", "-in", directory.write("ca.pem", ca.certificatePEM)])
        #expect(caText.output.contains("CA:TRUE, pathlen:0"), "\(caText.output)")
        #expect(caText.output.contains("Certificate Sign, CRL Sign"))
        #expect(caText.output.contains("X509v3 Subject Key Identifier"))
    }

    @Test func opensslReadsTheKeysAndTheyMatch() throws {
        let directory = try TemporaryDirectory()
        let ca = try authority(seed: 31)
        let leaf = try server(ca, seed: 32)
        for pair in [ca, leaf] {
            let fromKey = try openssl(["pkey", "-pubout", "-in", directory.write("key.pem", pair.privateKeyPEM)])
            let fromCertificate = try openssl(["x509", "-noout", "-pubkey", "-in", directory.write("cert.pem", pair.certificatePEM)])
            #expect(fromKey.status == 0 && fromCertificate.status == 0)
            #expect(fromKey.output == fromCertificate.output)
        }
    }

    @Test func aCertificateFromAnotherAuthorityIsRejected() throws {
        let directory = try TemporaryDirectory()
        let ca = try authority(seed: 41)
        // The same chassis ID, so the same name: only the signature tells them apart.
        let impostor = try authority(seed: 42)
        let foreign = try server(impostor, seed: 43)
        let result = try openssl(["verify", "-CAfile", directory.write("ca.pem", ca.certificatePEM), "-purpose", "sslserver",
                                  directory.write("leaf.pem", foreign.certificatePEM)])
        #expect(result.status != 0)
        #expect(result.output.contains("error"), "\(result.output)")
        // The summary agrees.
        let summary = try CertificateSummary.parse(pem: foreign.certificatePEM)
        #expect(!summary.isIssued(by: try CertificateSummary.parse(pem: ca.certificatePEM)))
    }

    @Test func theAuthorityCannotBeUsedAsAServerCertificate() throws {
        let directory = try TemporaryDirectory()
        let ca = try authority(seed: 51)
        let caFile = try directory.write("ca.pem", ca.certificatePEM)
        // Path length 0: a server certificate made into an authority by someone else's key is no use,
        // and the authority's own key usage keeps it from serving TLS itself.
        let result = try openssl(["verify", "-CAfile", caFile, "-purpose", "sslserver", "-x509_strict", caFile])
        #expect(result.status != 0, "\(result.output)")
    }

    @Test func theAuthorityReadsASEC1KeyFromOpenssl() throws {
        let directory = try TemporaryDirectory()
        let ca = try authority(seed: 61)
        let keyFile = try directory.write("key.pem", ca.privateKeyPEM)
        let sec1 = try openssl(["ec", "-in", keyFile])
        #expect(sec1.output.contains("BEGIN EC PRIVATE KEY"), "\(sec1.output)")
        var generator = SeededGenerator(seed: 62)
        let leaf = try ChassisAuthority.issue(caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: sec1.output,
                                              commonName: "b", dnsNames: ["a.example"], ipAddresses: [], now: now, using: &generator)
        #expect(try CertificateSummary.parse(pem: leaf.certificatePEM).isIssued(by: CertificateSummary.parse(pem: ca.certificatePEM)))
    }

    @Test func anOperatorsOwnRSACertificateIsSummarized() throws {
        let directory = try TemporaryDirectory()
        let result = try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=ops.example",
                                  "-addext", "subjectAltName=DNS:ops.example,IP:192.0.2.7",
                                  "-keyout", directory.path + "/key.pem", "-out", directory.path + "/cert.pem"])
        #expect(result.status == 0, "\(result.output)")
        let pem = try String(contentsOfFile: directory.path + "/cert.pem", encoding: .utf8)
        let summary = try CertificateSummary.parse(pem: pem)
        #expect(summary.dnsNames == ["ops.example"])
        #expect(summary.ipAddresses == ["192.0.2.7"])
        #expect(summary.subject == "CN=ops.example")
        // An RSA key cannot sign for the chassis authority: a clear error, not a crash.
        let key = try String(contentsOfFile: directory.path + "/key.pem", encoding: .utf8)
        var generator = SeededGenerator(seed: 1)
        let error = #expect(throws: CertificateError.self) {
            try ChassisAuthority.issue(caCertificatePEM: pem, caPrivateKeyPEM: key, commonName: "b",
                                       dnsNames: ["a.example"], ipAddresses: [], now: now, using: &generator)
        }
        #expect(error?.kind == .unsupportedKey)
    }
}
