import Foundation
import Testing
@testable import Certificates

@Suite struct RenewalTests {
    static let day: TimeInterval = 86_400

    struct Case: CustomStringConvertible, Sendable {
        var description: String
        var dns: [String] = ["chassis.example", "localhost"]
        var ips: [String] = ["127.0.1.9", "10.0.0.2"]
        var daysAfterIssue: Double = 0
        var newAuthority = false
        var expected: Expected

        enum Expected: Equatable, Sendable { case keep, issuer, notYetValid, expires, names([String], [String]) }
    }

    static let cases: [Case] = [
        Case(description: "fresh, same names", expected: .keep),
        Case(description: "names in another order and case", dns: ["LOCALHOST", "chassis.example."],
             ips: ["10.0.0.2", "127.0.1.9"], expected: .keep),
        Case(description: "44 days after issue (46 left)", daysAfterIssue: 44, expected: .keep),
        Case(description: "45 days after issue (45 left)", daysAfterIssue: 45, expected: .expires),
        Case(description: "89 days after issue", daysAfterIssue: 89, expected: .expires),
        Case(description: "expired", daysAfterIssue: 120, expected: .expires),
        Case(description: "a clock two hours behind", daysAfterIssue: -2.0 / 24, expected: .notYetValid),
        Case(description: "a clock half an hour behind is fine", daysAfterIssue: -0.5 / 24, expected: .keep),
        Case(description: "a new member address", ips: ["127.0.1.9", "10.0.0.2", "10.0.0.3"],
             expected: .names(["10.0.0.3"], [])),
        Case(description: "a member removed", ips: ["127.0.1.9"], expected: .names([], ["10.0.0.2"])),
        Case(description: "a name renamed", dns: ["mgmt.example", "localhost"],
             expected: .names(["mgmt.example"], ["chassis.example"])),
        Case(description: "a new authority (same chassis, same name, new key)", newAuthority: true, expected: .issuer),
        Case(description: "a new authority wins over expiry", daysAfterIssue: 80, newAuthority: true, expected: .issuer),
    ]

    @Test(arguments: cases)
    func renewal(_ test: Case) throws {
        let ca = try makeCA(seed: 1)
        let leaf = try CertificateSummary.parse(pem: makeLeaf(ca, seed: 2).certificatePEM)
        let current = try CertificateSummary.parse(pem: (test.newAuthority ? makeCA(seed: 3) : ca).certificatePEM)
        let now = fixedNow.addingTimeInterval(test.daysAfterIssue * Self.day)
        let reason = leaf.renewalReason(wantedDNSNames: test.dns, wantedIPAddresses: test.ips, currentCA: current, now: now)
        let needs = leaf.needsRenewal(wantedDNSNames: test.dns, wantedIPAddresses: test.ips, currentCA: current, now: now)
        #expect(needs == (reason != nil))
        switch (test.expected, reason) {
        case (.keep, nil): break
        case (.issuer, .issuedByAnotherAuthority?): break
        case (.notYetValid, .notYetValid?): break
        case (.expires, .expiresSoon(let notAfter)?): #expect(notAfter == leaf.notAfter)
        case (.names(let missing, let extra), .namesDiffer(let gotMissing, let gotExtra)?):
            #expect(gotMissing == missing)
            #expect(gotExtra == extra)
        default: Issue.record("expected \(test.expected), got \(reason.map(String.init(describing:)) ?? "keep")")
        }
    }

    @Test func aRenewalWindowCanBeChosen() throws {
        let ca = try makeCA()
        let leaf = try CertificateSummary.parse(pem: makeLeaf(ca).certificatePEM)
        let authority = try CertificateSummary.parse(pem: ca.certificatePEM)
        let now = fixedNow.addingTimeInterval(50 * Self.day)
        #expect(leaf.needsRenewal(wantedDNSNames: leaf.dnsNames, wantedIPAddresses: leaf.ipAddresses,
                                  currentCA: authority, now: now))
        #expect(!leaf.needsRenewal(wantedDNSNames: leaf.dnsNames, wantedIPAddresses: leaf.ipAddresses,
                                   currentCA: authority, now: now, renewBeforeDays: 30))
    }

    @Test func addressesCompareByTheirBytes() throws {
        let ca = try makeCA()
        let leaf = try CertificateSummary.parse(pem: makeLeaf(ca, dns: [], ips: ["fd00::1", "127.0.0.1"]).certificatePEM)
        let authority = try CertificateSummary.parse(pem: ca.certificatePEM)
        #expect(!leaf.needsRenewal(wantedDNSNames: [], wantedIPAddresses: ["FD00:0:0::0001", "127.0.0.1"],
                                   currentCA: authority, now: fixedNow))
        // A DNS name that looks like an address is not the address.
        #expect(leaf.needsRenewal(wantedDNSNames: ["127.0.0.1"], wantedIPAddresses: ["fd00::1"],
                                  currentCA: authority, now: fixedNow))
    }

    @Test func reasonsReadAsSentences() {
        #expect(RenewalReason.namesDiffer(missing: ["10.0.0.3"], extra: ["old.example"]).description
            == "the certificate's names differ from the wanted ones: it lacks 10.0.0.3; it still names old.example")
    }
}
