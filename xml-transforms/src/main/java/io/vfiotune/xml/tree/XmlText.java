package io.vfiotune.xml.tree;

/** Character data exactly as written (entity references stay unexpanded in {@link #raw()}). */
public final class XmlText extends XmlNode {
    private final String raw;

    public XmlText(String raw) {
        this.raw = raw;
    }

    public String raw() {
        return raw;
    }

    public boolean isWhitespace() {
        return raw.isBlank();
    }

    /** The text with the five predefined entities and character references decoded. */
    public String value() {
        return XmlEscaping.decode(raw);
    }

    @Override
    void writeTo(StringBuilder out) {
        out.append(raw);
    }
}
