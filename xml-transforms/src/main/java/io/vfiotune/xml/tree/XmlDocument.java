package io.vfiotune.xml.tree;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A parsed document that serializes back to its input byte for byte until it
 * is edited. Build it with {@link LosslessXmlParser}.
 */
public final class XmlDocument {
    private final List<XmlNode> nodes;
    private final XmlElement root;
    private final String indentUnit;
    private final char preferredQuote;

    XmlDocument(List<XmlNode> nodes, XmlElement root) {
        this.nodes = new ArrayList<>(nodes);
        this.root = root;
        this.indentUnit = detectIndentUnit(root);
        this.preferredQuote = root.firstQuote() == '"' ? '"' : '\'';
        root.attachTo(this);
    }

    public XmlElement root() {
        return root;
    }

    public List<XmlNode> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    public String serialize() {
        StringBuilder out = new StringBuilder();
        for (XmlNode node : nodes) {
            node.writeTo(out);
        }
        return out.toString();
    }

    String indentUnit() {
        return indentUnit;
    }

    char preferredQuote() {
        return preferredQuote;
    }

    /** The indentation of the root's first child element; libvirt writes two spaces. */
    private static String detectIndentUnit(XmlElement root) {
        for (XmlNode child : root.children()) {
            if (child instanceof XmlText text) {
                String raw = text.raw();
                int newline = raw.lastIndexOf('\n');
                if (newline >= 0 && raw.length() > newline + 1 && raw.substring(newline + 1).isBlank()) {
                    return raw.substring(newline + 1);
                }
            } else if (child instanceof XmlElement) {
                break;
            }
        }
        return "  ";
    }
}
