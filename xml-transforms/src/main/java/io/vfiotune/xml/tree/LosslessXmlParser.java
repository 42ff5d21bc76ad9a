package io.vfiotune.xml.tree;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Splits a document into tokens that keep their exact text. It expects input
 * that {@link io.vfiotune.xml.tree.SecureXmlReader} already checked for
 * well-formedness and hostile constructs; anything unexpected still fails with
 * {@link IllegalArgumentException}, never a wrong tree.
 */
public final class LosslessXmlParser {
    private final String text;
    private int position;

    private LosslessXmlParser(String text) {
        this.text = text;
    }

    public static XmlDocument parse(String text) {
        return new LosslessXmlParser(text).document();
    }

    private XmlDocument document() {
        List<XmlNode> topLevel = new ArrayList<>();
        Deque<XmlElement> open = new ArrayDeque<>();
        XmlElement root = null;
        while (position < text.length()) {
            XmlNode node;
            if (text.startsWith("<!--", position)) {
                node = verbatim(XmlVerbatim.Kind.COMMENT, "-->");
            } else if (text.startsWith("<![CDATA[", position)) {
                node = verbatim(XmlVerbatim.Kind.CDATA, "]]>");
            } else if (text.startsWith("<?xml", position) && position == 0) {
                node = verbatim(XmlVerbatim.Kind.DECLARATION, "?>");
            } else if (text.startsWith("<?", position)) {
                node = verbatim(XmlVerbatim.Kind.PROCESSING_INSTRUCTION, "?>");
            } else if (text.startsWith("<!", position)) {
                throw new IllegalArgumentException("document type declarations are not accepted");
            } else if (text.startsWith("</", position)) {
                int end = requireIndex(text.indexOf('>', position), "end tag");
                String raw = text.substring(position, end + 1);
                String name = raw.substring(2, raw.length() - 1).strip();
                XmlElement element = open.poll();
                if (element == null || !element.name().equals(name)) {
                    throw new IllegalArgumentException("mismatched end tag </" + name + ">");
                }
                element.setRawEndTag(raw);
                position = end + 1;
                continue;
            } else if (text.charAt(position) == '<') {
                XmlElement element = startTag();
                if (open.isEmpty()) {
                    if (root != null) {
                        throw new IllegalArgumentException("more than one root element");
                    }
                    root = element;
                    topLevel.add(element);
                } else {
                    open.peek().addParsedChild(element);
                }
                if (!isSelfClosing(element)) {
                    open.push(element);
                }
                continue;
            } else {
                int end = text.indexOf('<', position);
                end = end < 0 ? text.length() : end;
                node = new XmlText(text.substring(position, end));
                position = end;
            }
            if (open.isEmpty()) {
                topLevel.add(node);
            } else {
                open.peek().addParsedChild(node);
            }
        }
        if (!open.isEmpty() || root == null) {
            throw new IllegalArgumentException("document ends before its root element is closed");
        }
        return new XmlDocument(topLevel, root);
    }

    private XmlVerbatim verbatim(XmlVerbatim.Kind kind, String terminator) {
        int end = requireIndex(text.indexOf(terminator, position + 2), kind.name().toLowerCase(java.util.Locale.ROOT));
        String raw = text.substring(position, end + terminator.length());
        position = end + terminator.length();
        return new XmlVerbatim(kind, raw);
    }

    private XmlElement startTag() {
        int start = position;
        position++;
        String name = name();
        List<XmlAttribute> attributes = new ArrayList<>();
        while (true) {
            int whitespaceStart = position;
            skipWhitespace();
            String whitespace = text.substring(whitespaceStart, position);
            if (text.startsWith("/>", position) || text.startsWith(">", position)) {
                boolean selfClosing = text.charAt(position) == '/';
                position += selfClosing ? 2 : 1;
                return new XmlElement(name, attributes, whitespace, text.substring(start, position), selfClosing);
            }
            if (whitespace.isEmpty()) {
                throw new IllegalArgumentException("malformed start tag <" + name);
            }
            String attributeName = name();
            int equalsStart = position;
            skipWhitespace();
            expect('=');
            skipWhitespace();
            String equals = text.substring(equalsStart, position);
            char quote = text.charAt(position);
            if (quote != '"' && quote != '\'') {
                throw new IllegalArgumentException("unquoted attribute value");
            }
            int end = requireIndex(text.indexOf(quote, position + 1), "attribute value");
            attributes.add(new XmlAttribute(whitespace, attributeName, equals, quote, text.substring(position + 1, end)));
            position = end + 1;
        }
    }

    private static boolean isSelfClosing(XmlElement element) {
        return element.isSelfClosing();
    }

    private String name() {
        int start = position;
        while (position < text.length()) {
            char c = text.charAt(position);
            if (Character.isWhitespace(c) || c == '=' || c == '>' || c == '/' || c == '<' || c == '"' || c == '\'') {
                break;
            }
            position++;
        }
        if (position == start) {
            throw new IllegalArgumentException("expected a name at offset " + start);
        }
        String name = text.substring(start, position);
        // A qualified name has at most one colon, with something on both sides; ':alias' would pass for <alias> here.
        int colon = name.indexOf(':');
        if (colon == 0 || colon == name.length() - 1 || (colon > 0 && name.indexOf(':', colon + 1) >= 0)) {
            throw new IllegalArgumentException("'" + name + "' at offset " + start + " is not a qualified name (prefix:local)");
        }
        return name;
    }

    private void skipWhitespace() {
        while (position < text.length() && isXmlWhitespace(text.charAt(position))) {
            position++;
        }
    }

    private static boolean isXmlWhitespace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }

    private void expect(char c) {
        if (position >= text.length() || text.charAt(position) != c) {
            throw new IllegalArgumentException("expected '" + c + "' at offset " + position);
        }
        position++;
    }

    private int requireIndex(int index, String what) {
        if (index < 0) {
            throw new IllegalArgumentException("unterminated " + what);
        }
        return index;
    }
}
