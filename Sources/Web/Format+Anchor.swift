import Model

extension Format {
    /// A fragment identifier from any component name: letters, digits and dashes only.
    public static func anchor(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                if scalar.isASCII { out.unicodeScalars.append(scalar) } else { out += "-" }
            } else if !out.hasSuffix("-") {
                out += "-"
            }
        }
        var hash = FNV1a64()
        hash.add(text)
        return "c-" + out.lowercased() + String(hash.hex.prefix(6))
    }
}
