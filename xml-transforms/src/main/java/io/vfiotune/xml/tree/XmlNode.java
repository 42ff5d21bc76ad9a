package io.vfiotune.xml.tree;

/** A node of the lossless tree. Unchanged nodes serialize to exactly the bytes they were parsed from. */
public abstract sealed class XmlNode permits XmlElement, XmlText, XmlVerbatim {
    XmlElement parent;

    public XmlElement parent() {
        return parent;
    }

    abstract void writeTo(StringBuilder out);
}
