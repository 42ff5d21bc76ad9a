package io.vfiotune.xml.engine;

import io.vfiotune.xml.tree.SecureXmlReader;

import org.w3c.dom.Attr;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;
import org.xml.sax.InputSource;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;

/**
 * Whether two domain XML texts say the same thing. libvirt re-serialises a
 * definition on define (its own indentation, quotes and namespace placement),
 * so the prepare gate compares meaning, not bytes: element and attribute names
 * by namespace URI, attribute sets regardless of order, text trimmed, and
 * whitespace-only text and comments ignored. libvirt also writes a device's
 * children in its own order ({@code <address>} before {@code <alias>}), so
 * siblings are compared grouped by name; the order of same-named siblings
 * (disks, interfaces, hostdevs), which can mean something, still counts.
 */
public final class XmlEquivalence {
    private XmlEquivalence() {
    }

    /** Both texts must already have passed {@link SecureXmlReader}. */
    public static boolean equivalent(String a, String b) {
        return Objects.equals(canonical(parse(a).getDocumentElement()), canonical(parse(b).getDocumentElement()));
    }

    /**
     * Like {@link #equivalent}, but a {@code <vt:tune>} the host policy wrote ({@code policy-rule})
     * counts for nothing, and neither does a {@code <metadata>} left empty without it: the policy's
     * annotation and its record change nothing QEMU is started with. The gate asks this of a
     * domain the policy selects, which a stack may have defined without ever letting it be rewritten.
     */
    public static boolean equivalentIgnoringPolicyTunes(String a, String b) {
        return Objects.equals(canonical(withoutPolicyTunes(parse(a))), canonical(withoutPolicyTunes(parse(b))));
    }

    private static Element withoutPolicyTunes(Document document) {
        Element root = document.getDocumentElement();
        for (org.w3c.dom.Node child = root.getFirstChild(); child != null; child = child.getNextSibling()) {
            if (child instanceof Element metadata && metadata.getNamespaceURI() == null && metadata.getLocalName().equals("metadata")) {
                org.w3c.dom.NodeList tunes = metadata.getElementsByTagNameNS(io.vfiotune.xml.annotations.AnnotationNamespace.URI, "tune");
                for (int i = tunes.getLength() - 1; i >= 0; i--) {
                    Element tune = (Element) tunes.item(i);
                    if (tune.getParentNode() == metadata && tune.hasAttribute("policy-rule")) {
                        metadata.removeChild(tune);
                    }
                }
                boolean empty = true;
                for (org.w3c.dom.Node node = metadata.getFirstChild(); node != null; node = node.getNextSibling()) {
                    empty &= node.getNodeType() == org.w3c.dom.Node.TEXT_NODE && node.getTextContent().isBlank();
                }
                if (empty) {
                    root.removeChild(metadata);
                }
                break;
            }
        }
        return root;
    }

    private static Document parse(String text) {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setNamespaceAware(true);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setExpandEntityReferences(false);
            DocumentBuilder builder = factory.newDocumentBuilder();
            builder.setErrorHandler(null);
            return builder.parse(new InputSource(new StringReader(text)));
        } catch (Exception e) {
            throw SecureXmlReader.refuse("XML-MALFORMED", "input", e.getMessage());
        }
    }

    private record Canonical(String name, Map<String, String> attributes, String text, List<Canonical> children) {
    }

    private static Canonical canonical(Element element) {
        Map<String, String> attributes = new TreeMap<>();
        NamedNodeMap map = element.getAttributes();
        for (int i = 0; i < map.getLength(); i++) {
            Attr attribute = (Attr) map.item(i);
            if (XMLConstants.XMLNS_ATTRIBUTE_NS_URI.equals(attribute.getNamespaceURI())) {
                continue; // where a namespace is declared does not change what the document says
            }
            attributes.put(qualified(attribute), attribute.getValue());
        }
        StringBuilder text = new StringBuilder();
        List<Canonical> children = new ArrayList<>();
        for (Node child = element.getFirstChild(); child != null; child = child.getNextSibling()) {
            if (child instanceof Element childElement) {
                children.add(canonical(childElement));
            } else if (child.getNodeType() == Node.TEXT_NODE || child.getNodeType() == Node.CDATA_SECTION_NODE) {
                text.append(child.getNodeValue());
            }
        }
        children.sort(Comparator.comparing(Canonical::name)); // stable: same-named siblings keep their order
        return new Canonical(qualified(element), attributes, text.toString().strip(), children);
    }

    private static String qualified(Node node) {
        String uri = node.getNamespaceURI();
        return (uri == null ? "" : "{" + uri + "}") + node.getLocalName();
    }
}
