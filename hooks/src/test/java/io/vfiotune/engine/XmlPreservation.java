package io.vfiotune.engine;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.InputSource;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The preservation property, shared by the corpus test and the plan fuzz target. */
public final class XmlPreservation {
    /**
     * The one change the plan documents to existing user XML: a hostdev's automatic alias
     * (hostdev0), which libvirt reassigns at every start, becomes a stable ua- alias.
     */
    private static final String RENAMED_AUTOMATIC_ALIAS = ".*/hostdev(\\[\\d+])?/alias/@name='(?!ua-)[^']*'";

    private XmlPreservation() {
    }

    /** {@link #lost(String, String)} without the documented changes. */
    public static List<String> lostUndocumented(String expectedXml, String actualXml) throws Exception {
        return lost(expectedXml, actualXml).stream().filter(problem -> !problem.matches(RENAMED_AUTOMATIC_ALIAS)).toList();
    }

    /** What of {@code expectedXml} is missing or changed in {@code actualXml}; empty when everything is kept. */
    public static List<String> lost(String expectedXml, String actualXml) throws Exception {
        Element expected = parse(expectedXml).getDocumentElement();
        return lost(expected, parse(actualXml).getDocumentElement(), "/" + expected.getTagName());
    }

    /** A namespace-aware DOM with no DTD processing at all, or an exception for input that is not well-formed. */
    public static Document parse(String xml) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        var builder = factory.newDocumentBuilder();
        builder.setErrorHandler(null);
        return builder.parse(new InputSource(new StringReader(xml)));
    }

    /**
     * Every element of {@code expected} must be at the same place in {@code actual} (the n-th child of
     * its name and namespace), with the same attributes and the same direct text; {@code actual} may have more.
     */
    private static List<String> lost(Element expected, Element actual, String here) {
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < expected.getAttributes().getLength(); i++) {
            Node attribute = expected.getAttributes().item(i);
            Node kept = actual.getAttributes().getNamedItemNS(attribute.getNamespaceURI(), attribute.getLocalName());
            if (attribute.getNamespaceURI() == null) {
                kept = actual.getAttributes().getNamedItem(attribute.getNodeName());
            }
            if (kept == null || !kept.getNodeValue().equals(attribute.getNodeValue())) {
                problems.add(here + "/@" + attribute.getNodeName() + "='" + attribute.getNodeValue() + "'");
            }
        }
        if (!directText(expected).equals(directText(actual))) {
            problems.add(here + "/text()");
        }
        Map<String, List<Element>> actualChildren = children(actual);
        Map<String, Integer> seen = new HashMap<>();
        for (Element child : children(expected).values().stream().flatMap(List::stream).toList()) {
            String key = key(child);
            int index = seen.merge(key, 1, Integer::sum) - 1;
            List<Element> candidates = actualChildren.getOrDefault(key, List.of());
            String childPath = here + "/" + child.getTagName() + (index > 0 ? "[" + index + "]" : "");
            if (index >= candidates.size()) {
                problems.add(childPath);
            } else {
                problems.addAll(lost(child, candidates.get(index), childPath));
            }
        }
        return problems;
    }

    private static Map<String, List<Element>> children(Element parent) {
        Map<String, List<Element>> byName = new LinkedHashMap<>();
        for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node instanceof Element element) {
                byName.computeIfAbsent(key(element), k -> new ArrayList<>()).add(element);
            }
        }
        return byName;
    }

    private static String key(Element element) {
        return "{" + element.getNamespaceURI() + "}" + element.getLocalName();
    }

    /**
     * The element's own text, node by node with layout whitespace trimmed: vfio-tune inserts indentation
     * between elements, which in mixed content lands between the user's text nodes without changing them.
     */
    private static String directText(Element element) {
        StringBuilder text = new StringBuilder();
        for (Node node = element.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node.getNodeType() == Node.TEXT_NODE || node.getNodeType() == Node.CDATA_SECTION_NODE) {
                String value = node.getNodeValue().strip();
                if (!value.isEmpty()) {
                    text.append(value).append('\u0000');
                }
            }
        }
        return text.toString();
    }

}
