/// Text made safe for SVG and HTML: the five XML special characters escaped, and control characters
/// (which XML 1.0 forbids) shown as U+FFFD.
func xmlEscaped(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        case "\t", "\n", "\r": out += " "
        default: out.unicodeScalars.append(scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) ? "\u{FFFD}" : scalar)
        }
    }
    return out
}

/// A number for an SVG attribute: at most two decimals, no exponent.
func svgNumber(_ x: Double) -> String {
    let rounded = (x * 100).rounded() / 100
    return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
}
