package io.vfiotune.xml.tree;

/** A comment, processing instruction, CDATA section or XML declaration, kept byte for byte. */
public final class XmlVerbatim extends XmlNode {
    public enum Kind { COMMENT, PROCESSING_INSTRUCTION, CDATA, DECLARATION }

    private final Kind kind;
    private final String raw;

    XmlVerbatim(Kind kind, String raw) {
        this.kind = kind;
        this.raw = raw;
    }

    public Kind kind() {
        return kind;
    }

    public String raw() {
        return raw;
    }

    @Override
    void writeTo(StringBuilder out) {
        out.append(raw);
    }
}
