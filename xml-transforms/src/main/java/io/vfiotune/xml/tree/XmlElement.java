package io.vfiotune.xml.tree;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * An element that remembers how it was written. Until it is edited, its start
 * and end tags serialize to the original bytes; an edit rebuilds only the start
 * tag, keeping every other attribute's spacing, quotes and escapes.
 * <p>One file over 350 lines on purpose: it is the lossless tree's one mutable node type, and
 * every way of reading or changing an element keeps the untouched bytes in the same few fields.
 */
public final class XmlElement extends XmlNode {
    public static final String XMLNS = "xmlns";

    private final String name;
    private final List<XmlAttribute> attributes;
    private final List<XmlNode> children = new ArrayList<>();
    /** Whitespace between the last attribute and {@code >} or {@code />}. */
    private final String tagTail;
    private String rawStartTag;
    private String rawEndTag;
    private boolean selfClosing;
    private XmlDocument document;

    XmlElement(String name, List<XmlAttribute> attributes, String tagTail, String rawStartTag, boolean selfClosing) {
        this.name = name;
        this.attributes = new ArrayList<>(attributes);
        this.tagTail = tagTail;
        this.rawStartTag = rawStartTag;
        this.selfClosing = selfClosing;
    }

    /** A new element, written the way libvirt writes: single quotes, no tail, self-closing until it has children. */
    public static XmlElement create(String name, String... attributeNamesAndValues) {
        if (attributeNamesAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("attributes come in name/value pairs");
        }
        XmlElement element = new XmlElement(name, List.of(), "", null, true);
        for (int i = 0; i < attributeNamesAndValues.length; i += 2) {
            element.setAttribute(attributeNamesAndValues[i], attributeNamesAndValues[i + 1]);
        }
        return element;
    }

    /** The qualified name as written, e.g. {@code qemu:override}. */
    public String name() {
        return name;
    }

    public String localName() {
        int colon = name.indexOf(':');
        return colon < 0 ? name : name.substring(colon + 1);
    }

    public String prefix() {
        int colon = name.indexOf(':');
        return colon < 0 ? "" : name.substring(0, colon);
    }

    /** The namespace URI this element's prefix is bound to, or "" when none. */
    public String namespaceUri() {
        return namespaceFor(prefix()).orElse("");
    }

    public boolean is(String namespaceUri, String localName) {
        return localName().equals(localName) && namespaceUri().equals(namespaceUri);
    }

    /** The URI bound to {@code prefix} here ("" means the default namespace). */
    public Optional<String> namespaceFor(String prefix) {
        String declaration = prefix.isEmpty() ? XMLNS : XMLNS + ":" + prefix;
        for (XmlElement element = this; element != null; element = element.parent) {
            Optional<String> value = element.attribute(declaration);
            if (value.isPresent()) {
                return value;
            }
        }
        return Optional.empty();
    }

    /** A prefix bound to {@code namespaceUri} in scope here. */
    public Optional<String> prefixFor(String namespaceUri) {
        for (XmlElement element = this; element != null; element = element.parent) {
            for (XmlAttribute attribute : element.attributes) {
                if (attribute.name.startsWith(XMLNS + ":") && attribute.value().equals(namespaceUri)) {
                    String prefix = attribute.name.substring(XMLNS.length() + 1);
                    if (namespaceFor(prefix).orElse("").equals(namespaceUri)) {
                        return Optional.of(prefix);
                    }
                }
            }
        }
        return Optional.empty();
    }

    public Optional<String> attribute(String qualifiedName) {
        for (XmlAttribute attribute : attributes) {
            if (attribute.name.equals(qualifiedName)) {
                return Optional.of(attribute.value());
            }
        }
        return Optional.empty();
    }

    /** Attribute names in document order. */
    public List<String> attributeNames() {
        return attributes.stream().map(attribute -> attribute.name).toList();
    }

    public void setAttribute(String qualifiedName, String value) {
        for (int i = 0; i < attributes.size(); i++) {
            XmlAttribute attribute = attributes.get(i);
            if (attribute.name.equals(qualifiedName)) {
                if (!attribute.value().equals(value)) {
                    attributes.set(i, attribute.withValue(value));
                    rawStartTag = null;
                }
                return;
            }
        }
        char quote = attributes.isEmpty() ? preferredQuote() : attributes.get(attributes.size() - 1).quote;
        attributes.add(new XmlAttribute(" ", qualifiedName, "=", quote, XmlEscaping.escapeAttribute(value, quote)));
        rawStartTag = null;
    }

    public void removeAttribute(String qualifiedName) {
        if (attributes.removeIf(attribute -> attribute.name.equals(qualifiedName))) {
            rawStartTag = null;
        }
    }

    public List<XmlNode> children() {
        return Collections.unmodifiableList(children);
    }

    public List<XmlElement> childElements() {
        List<XmlElement> elements = new ArrayList<>();
        for (XmlNode child : children) {
            if (child instanceof XmlElement element) {
                elements.add(element);
            }
        }
        return elements;
    }

    public List<XmlElement> childElements(String namespaceUri, String localName) {
        return childElements().stream().filter(child -> child.is(namespaceUri, localName)).toList();
    }

    public Optional<XmlElement> firstChild(String namespaceUri, String localName) {
        return childElements().stream().filter(child -> child.is(namespaceUri, localName)).findFirst();
    }

    /** The decoded text content of this element's direct text children. */
    public String text() {
        StringBuilder out = new StringBuilder();
        for (XmlNode child : children) {
            if (child instanceof XmlText text) {
                out.append(text.value());
            }
        }
        return out.toString();
    }

    /**
     * Appends {@code child} after the last child element, indented like its
     * siblings; an element without children gets the document's indent unit.
     */
    public XmlElement appendChild(XmlElement child) {
        if (child.parent != null) {
            throw new IllegalArgumentException("element already has a parent");
        }
        child.parent = this;
        child.attachTo(document);
        if (childElements().isEmpty() && children.stream().allMatch(node -> node instanceof XmlText text && text.isWhitespace())) {
            String indent = ownIndent();
            String unit = document == null ? "  " : document.indentUnit();
            children.clear();
            children.add(new XmlText("\n" + indent + unit));
            children.add(child);
            children.add(new XmlText("\n" + indent));
            if (selfClosing) {
                selfClosing = false;
                rawStartTag = null;
                rawEndTag = null;
            }
            return child;
        }
        int insertAt = children.size();
        if (insertAt > 0 && children.get(insertAt - 1) instanceof XmlText closing && closing.isWhitespace()) {
            insertAt--;
        }
        // The indent is read from the existing children, before the new one is among them.
        String indent = childIndent();
        children.add(insertAt, child);
        children.add(insertAt, new XmlText("\n" + indent));
        return child;
    }

    /**
     * Inserts {@code child} right after {@code anchor}, indented like the anchor;
     * a null anchor puts it before the first child element.
     */
    public XmlElement insertChildAfter(XmlElement anchor, XmlElement child) {
        if (child.parent != null) {
            throw new IllegalArgumentException("element already has a parent");
        }
        List<XmlElement> elements = childElements();
        if (elements.isEmpty()) {
            return appendChild(child);
        }
        XmlElement reference = anchor == null ? elements.get(0) : anchor;
        int index = children.indexOf(reference);
        if (index < 0) {
            throw new IllegalArgumentException("anchor is not a child");
        }
        String indent = reference.ownIndent();
        child.parent = this;
        child.attachTo(document);
        if (anchor == null) {
            // before the first element: the new element takes the existing indent, and the first element gets it again
            children.add(index, new XmlText("\n" + indent));
            children.add(index, child);
        } else {
            children.add(index + 1, child);
            children.add(index + 1, new XmlText("\n" + indent));
        }
        return child;
    }

    /** Replaces the content of an element that holds no child elements with {@code value}, escaped. */
    public void setTextContent(String value) {
        if (!childElements().isEmpty()) {
            throw new IllegalStateException("element has child elements");
        }
        children.clear();
        children.add(new XmlText(XmlEscaping.escapeText(value)));
        if (selfClosing) {
            selfClosing = false;
            rawStartTag = null;
            rawEndTag = null;
        }
    }

    /** Removes {@code child} together with the whitespace that indents it. */
    public void removeChild(XmlElement child) {
        int index = children.indexOf(child);
        if (index < 0) {
            throw new IllegalArgumentException("not a child");
        }
        children.remove(index);
        if (index > 0 && children.get(index - 1) instanceof XmlText text) {
            if (text.isWhitespace()) {
                children.remove(index - 1);
            } else {
                // Text the user wrote before the element stays; only the line break and indent an append added go.
                String raw = text.raw();
                int newline = raw.lastIndexOf('\n');
                if (newline >= 0 && raw.substring(newline).isBlank()) {
                    children.set(index - 1, new XmlText(raw.substring(0, newline)));
                }
            }
        }
        child.parent = null;
    }

    /** True when this element holds no child elements and only whitespace. */
    public boolean isEmptyOfContent() {
        return children.stream().allMatch(node -> node instanceof XmlText text && text.isWhitespace());
    }

    /** This element with every namespace in scope declared on it, for binding it on its own. */
    public String toStandaloneXml() {
        StringBuilder out = new StringBuilder();
        List<String> declared = new ArrayList<>(attributeNames());
        StringBuilder extraDeclarations = new StringBuilder();
        for (XmlElement ancestor = parent; ancestor != null; ancestor = ancestor.parent) {
            for (XmlAttribute attribute : ancestor.attributes) {
                boolean isDeclaration = attribute.name.equals(XMLNS) || attribute.name.startsWith(XMLNS + ":");
                if (isDeclaration && !declared.contains(attribute.name)) {
                    declared.add(attribute.name);
                    extraDeclarations.append(' ').append(attribute.name).append("=\"")
                            .append(XmlEscaping.escapeAttribute(attribute.value(), '"')).append('"');
                }
            }
        }
        out.append('<').append(name).append(extraDeclarations);
        for (XmlAttribute attribute : attributes) {
            attribute.writeTo(out);
        }
        out.append(tagTail).append(selfClosing ? "/>" : ">");
        if (!selfClosing) {
            for (XmlNode child : children) {
                child.writeTo(out);
            }
            out.append("</").append(name).append('>');
        }
        return out.toString();
    }

    void attachTo(XmlDocument owner) {
        document = owner;
        for (XmlElement element : childElements()) {
            element.attachTo(owner);
        }
    }

    void addParsedChild(XmlNode child) {
        child.parent = this;
        children.add(child);
    }

    void setRawEndTag(String raw) {
        rawEndTag = raw;
    }

    private String ownIndent() {
        if (parent == null) {
            return "";
        }
        int index = parent.children.indexOf(this);
        if (index > 0 && parent.children.get(index - 1) instanceof XmlText text) {
            String raw = text.raw();
            int newline = raw.lastIndexOf('\n');
            return newline >= 0 && raw.substring(newline + 1).isBlank() ? raw.substring(newline + 1) : "";
        }
        return "";
    }

    private String childIndent() {
        List<XmlElement> elements = childElements();
        XmlElement last = elements.get(elements.size() - 1);
        String indent = last.ownIndent();
        return indent.isEmpty() && !elements.isEmpty() ? ownIndent() + (document == null ? "  " : document.indentUnit()) : indent;
    }

    private char preferredQuote() {
        return document == null ? '\'' : document.preferredQuote();
    }

    boolean isSelfClosing() {
        return selfClosing;
    }

    char firstQuote() {
        return attributes.isEmpty() ? 0 : attributes.get(0).quote;
    }

    @Override
    void writeTo(StringBuilder out) {
        if (rawStartTag != null) {
            out.append(rawStartTag);
        } else {
            out.append('<').append(name);
            for (XmlAttribute attribute : attributes) {
                attribute.writeTo(out);
            }
            out.append(tagTail).append(selfClosing ? "/>" : ">");
        }
        if (selfClosing) {
            return;
        }
        for (XmlNode child : children) {
            child.writeTo(out);
        }
        out.append(rawEndTag != null ? rawEndTag : "</" + name + ">");
    }
}
