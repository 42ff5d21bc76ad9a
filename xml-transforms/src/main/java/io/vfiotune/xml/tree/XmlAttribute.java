package io.vfiotune.xml.tree;

/**
 * An attribute with its surroundings as written: the whitespace before it, the
 * {@code =} with any spaces, the quote character and the raw value.
 */
final class XmlAttribute {
    final String leading;
    final String name;
    final String equals;
    final char quote;
    final String rawValue;

    XmlAttribute(String leading, String name, String equals, char quote, String rawValue) {
        this.leading = leading;
        this.name = name;
        this.equals = equals;
        this.quote = quote;
        this.rawValue = rawValue;
    }

    String value() {
        return XmlEscaping.decode(rawValue);
    }

    XmlAttribute withValue(String value) {
        return new XmlAttribute(leading, name, equals, quote, XmlEscaping.escapeAttribute(value, quote));
    }

    void writeTo(StringBuilder out) {
        out.append(leading).append(name).append(equals).append(quote).append(rawValue).append(quote);
    }
}
