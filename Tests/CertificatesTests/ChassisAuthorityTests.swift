import Foundation
import Testing
@testable import Certificates

/// A fixed time, so that validity periods can be compared to the second.
let fixedNow = Date(timeIntervalSince1970: 1_796_000_000.75)

func makeCA(seed: UInt64 = 1, id: String = "660007770088", now: Date = fixedNow) throws -> CertificateAndKey {
    var generator = SeededGenerator(seed: seed)
    return try ChassisAuthority.create(chassisID: id, chassisName: "Demo chassis", now: now, using: &generator)
}

func makeLeaf(_ ca: CertificateAndKey, seed: UInt64 = 2, dns: [String] = ["chassis.example", "localhost"],
              ips: [String] = ["127.0.1.9", "10.0.0.2"], now: Date = fixedNow, days: Int = 90) throws -> CertificateAndKey {
    var generator = SeededGenerator(seed: seed)
    return try ChassisAuthority.issue(caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: ca.privateKeyPEM,
                                      commonName: "blade1", dnsNames: dns, ipAddresses: ips,
                                      now: now, validityDays: days, using: &generator)
}

@Suite struct ChassisAuthorityTests {
    @Test func anAuthorityRoundTrips() throws {
        let ca = try makeCA()
        #expect(ca.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----\n"))
        #expect(ca.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let summary = try CertificateSummary.parse(pem: ca.certificatePEM)
        #expect(summary.isCA)
        #expect(summary.subject == "CN=Chassis Manager CA 660007770088,OU=Demo chassis,O=Chassis Manager")
        #expect(summary.issuer == summary.subject)
        let start = Date(timeIntervalSince1970: 1_796_000_000 - 3600)
        #expect(summary.notBefore == start)
        #expect(summary.notAfter == Date(timeIntervalSince1970: 1_796_000_000 + 3650 * 86_400))
        #expect(summary.dnsNames.isEmpty && summary.ipAddresses.isEmpty)
        #expect(summary.isIssued(by: summary))
        #expect(try ChassisAuthority.keyMatches(certificatePEM: ca.certificatePEM, privateKeyPEM: ca.privateKeyPEM))
        #expect(summary.serialNumber.split(separator: ":").count == 16)
        #expect(summary.sha256Fingerprint.split(separator: ":").count == 32)
    }

    @Test func aServerCertificateRoundTrips() throws {
        let ca = try makeCA()
        let leaf = try makeLeaf(ca, dns: ["Chassis.Example.", "localhost", "chassis.example"],
                                ips: ["127.0.1.9", "10.0.0.2", "127.0.1.9", "fd00::0:1"])
        let summary = try CertificateSummary.parse(pem: leaf.certificatePEM)
        let authority = try CertificateSummary.parse(pem: ca.certificatePEM)
        #expect(!summary.isCA)
        #expect(summary.subject == "CN=blade1,O=Chassis Manager")
        #expect(summary.issuer == authority.subject)
        #expect(summary.dnsNames == ["chassis.example", "localhost"])
        #expect(summary.ipAddresses == ["127.0.1.9", "10.0.0.2", "fd00::1"])
        #expect(summary.notBefore == Date(timeIntervalSince1970: 1_796_000_000 - 3600))
        #expect(summary.notAfter == Date(timeIntervalSince1970: 1_796_000_000 + 90 * 86_400))
        #expect(summary.isIssued(by: authority))
        #expect(!authority.isIssued(by: summary))
        #expect(try ChassisAuthority.keyMatches(certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM))
        #expect(try !ChassisAuthority.keyMatches(certificatePEM: leaf.certificatePEM, privateKeyPEM: ca.privateKeyPEM))
    }

    @Test func aServerCertificateNeverOutlivesItsAuthority() throws {
        var generator = SeededGenerator(seed: 9)
        let ca = try ChassisAuthority.create(chassisID: "1", chassisName: "", now: fixedNow, validityDays: 30, using: &generator)
        let leaf = try makeLeaf(ca)
        let summary = try CertificateSummary.parse(pem: leaf.certificatePEM)
        #expect(summary.notAfter == (try CertificateSummary.parse(pem: ca.certificatePEM)).notAfter)
        #expect(try CertificateSummary.parse(pem: ca.certificatePEM).subject == "CN=Chassis Manager CA 1,O=Chassis Manager")
    }

    @Test func theGeneratorDecidesKeysAndSerials() throws {
        #expect(try makeCA(seed: 5).privateKeyPEM == makeCA(seed: 5).privateKeyPEM)
        #expect(try makeCA(seed: 5).privateKeyPEM != makeCA(seed: 6).privateKeyPEM)
        let ca = try makeCA()
        let first = try CertificateSummary.parse(pem: makeLeaf(ca, seed: 3).certificatePEM)
        let again = try CertificateSummary.parse(pem: makeLeaf(ca, seed: 3).certificatePEM)
        let other = try CertificateSummary.parse(pem: makeLeaf(ca, seed: 4).certificatePEM)
        #expect(first.serialNumber == again.serialNumber)
        #expect(first.serialNumber != other.serialNumber)
    }

    @Test func aKeyOfAnotherAuthorityIsRefused() throws {
        let ca = try makeCA(seed: 1)
        let other = try makeCA(seed: 2)
        var generator = SeededGenerator(seed: 3)
        let error = #expect(throws: CertificateError.self) {
            try ChassisAuthority.issue(caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: other.privateKeyPEM,
                                       commonName: "blade1", dnsNames: ["a.example"], ipAddresses: [],
                                       now: fixedNow, using: &generator)
        }
        #expect(error?.kind == .keyMismatch)
    }

    @Test func aServerCertificateCannotActAsAuthority() throws {
        let leaf = try makeLeaf(try makeCA())
        let error = #expect(throws: CertificateError.self) { _ = try makeLeaf(leaf) }
        #expect(error?.kind == .notAnAuthority)
    }

    @Test(arguments: [
        ([String](), [String]()),
        (["*.example"], []),
        (["under_score.example"], []),
        (["-leading.example"], []),
        (["a..b"], []),
        (["10.0.0.1"], []),
        ([String(repeating: "a", count: 64) + ".example"], []),
        (["ok.example"], ["300.1.1.1"]),
        (["ok.example"], ["chassis.example"]),
        (["ok.example"], ["127.0.0.1:8443"]),
        (["ok.example"], ["fe80::1%eth0"]),
    ])
    func invalidNamesAreRefused(dns: [String], ips: [String]) throws {
        let ca = try makeCA()
        let error = #expect(throws: CertificateError.self) { _ = try makeLeaf(ca, dns: dns, ips: ips) }
        #expect(error?.kind == .invalidArgument)
    }

    @Test func invalidAuthorityArgumentsAreRefused() {
        var generator = SeededGenerator(seed: 1)
        #expect(throws: CertificateError.self) {
            try ChassisAuthority.create(chassisID: " ", chassisName: "x", now: fixedNow, using: &generator)
        }
        #expect(throws: CertificateError.self) {
            try ChassisAuthority.create(chassisID: String(repeating: "9", count: 50), chassisName: "x", now: fixedNow, using: &generator)
        }
        #expect(throws: CertificateError.self) {
            try ChassisAuthority.create(chassisID: "1", chassisName: "x", now: fixedNow, validityDays: 0, using: &generator)
        }
        // A long chassis name is only a label: it is cut, not refused.
        #expect(throws: Never.self) {
            try ChassisAuthority.create(chassisID: "1", chassisName: String(repeating: "n", count: 200), now: fixedNow, using: &generator)
        }
    }

    @Test func anExpiredAuthorityIssuesNothing() throws {
        let ca = try makeCA()
        let error = #expect(throws: CertificateError.self) {
            _ = try makeLeaf(ca, now: fixedNow.addingTimeInterval(3651 * 86_400))
        }
        #expect(error?.kind == .invalidArgument)
    }

    @Test func aChainFileGivesItsFirstCertificate() throws {
        let ca = try makeCA()
        let leaf = try makeLeaf(ca)
        let chain = "subject=CN=blade1\n" + leaf.certificatePEM + ca.certificatePEM
        #expect(try CertificateSummary.parse(pem: chain) == CertificateSummary.parse(pem: leaf.certificatePEM))
    }
}

@Suite struct MalformedInputTests {
    static let body = "MIIBszCCAVmgAwIBAgIQQ"

    @Test(arguments: [
        "",
        "garbage",
        "-----BEGIN CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\n\(body)\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ])
    func malformedCertificatesAreErrors(text: String) {
        let error = #expect(throws: CertificateError.self) { _ = try CertificateSummary.parse(pem: text) }
        #expect(error?.kind == .malformedPEM)
    }

    @Test func everyTruncationOfACertificateIsAnError() throws {
        let pem = try makeCA().certificatePEM
        let lines = pem.split(separator: "\n")
        for count in 1..<(lines.count - 1) {
            let truncated = (lines.prefix(count) + ["-----END CERTIFICATE-----"]).joined(separator: "\n")
            #expect(throws: CertificateError.self, "\(count) lines") { _ = try CertificateSummary.parse(pem: truncated) }
        }
    }

    @Test func everyFlippedCharacterOfACertificateIsHandled() throws {
        // Not every flip is an error (a byte of the signature or of a name still decodes), but
        // none may trap.
        let pem = Array(try makeCA().certificatePEM.utf8)
        for index in pem.indices where pem[index] != UInt8(ascii: "\n") && pem[index] != UInt8(ascii: "-") {
            var flipped = pem
            flipped[index] = flipped[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            _ = try? CertificateSummary.parse(pem: String(decoding: flipped, as: UTF8.self))
        }
    }

    @Test func malformedAuthorityMaterialIsAnError() throws {
        let ca = try makeCA()
        var generator = SeededGenerator(seed: 1)
        let badKey = #expect(throws: CertificateError.self) {
            try ChassisAuthority.issue(caCertificatePEM: ca.certificatePEM, caPrivateKeyPEM: "not a key",
                                       commonName: "b", dnsNames: ["a.example"], ipAddresses: [], now: fixedNow, using: &generator)
        }
        #expect(badKey?.kind == .malformedPEM)
        let badKeyBody = #expect(throws: CertificateError.self) {
            try ChassisAuthority.issue(caCertificatePEM: ca.certificatePEM,
                                       caPrivateKeyPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                                       commonName: "b", dnsNames: ["a.example"], ipAddresses: [], now: fixedNow, using: &generator)
        }
        #expect(badKeyBody?.kind == .malformedPEM)
        let badCertificate = #expect(throws: CertificateError.self) {
            try ChassisAuthority.issue(caCertificatePEM: ca.privateKeyPEM, caPrivateKeyPEM: ca.privateKeyPEM,
                                       commonName: "b", dnsNames: ["a.example"], ipAddresses: [], now: fixedNow, using: &generator)
        }
        #expect(badCertificate?.kind == .malformedPEM)
        #expect(badCertificate?.description.contains("BEGIN CERTIFICATE") == true)
    }
}
