/// Where the chassis' certificate authority lives in the replicated settings: its certificate,
/// and its private key sealed under a key derived from the cluster key.
public enum CertificateSettings {
    public static let authorityCertificate = "tls.ca.certificate"
    public static let authoritySealedKey = "tls.ca.key"
}
