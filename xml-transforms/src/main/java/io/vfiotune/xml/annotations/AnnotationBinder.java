package io.vfiotune.xml.annotations;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.TuneAnnotations.Clique;
import io.vfiotune.spi.TuneAnnotations.HostdevAnnotation;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.spi.VfioTuneException;
import jakarta.xml.bind.JAXBContext;
import jakarta.xml.bind.JAXBException;
import jakarta.xml.bind.Unmarshaller;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.net.URL;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.stream.StreamSource;
import javax.xml.validation.Schema;
import javax.xml.validation.SchemaFactory;
import javax.xml.validation.Validator;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.ErrorHandler;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;

/**
 * Validates a {@code <vt:tune>} element against the shipped XSD and binds it.
 * Schema errors become findings that name the element, the attribute and what
 * is allowed, taken from the schema's own documentation lines.
 */
public final class AnnotationBinder {
    private static final Pattern ATTRIBUTE_VALUE = Pattern.compile(
            "cvc-attribute\\.3: The value '(.*)' of attribute '(.*)' on element '(.*)' is not valid with respect to its type, '(.*)'\\.");
    private static final Pattern ATTRIBUTE_NOT_ALLOWED = Pattern.compile("cvc-complex-type\\.3\\.2\\.2: Attribute '(.*)' is not allowed to appear in element '(.*)'\\.");
    private static final Pattern ATTRIBUTE_MISSING = Pattern.compile("cvc-complex-type\\.4: Attribute '(.*)' must appear on element '(.*)'\\.");
    private static final Pattern UNEXPECTED_ELEMENT = Pattern.compile("cvc-complex-type\\.2\\.4\\.[a-d]: Invalid content was found starting with element '(.*?)'\\.(.*)");
    private static final Pattern DUPLICATE_HOST = Pattern.compile("cvc-identity-constraint\\.4\\.1: Duplicate unique value \\[(.*)\\].*");
    private static final Pattern NAMESPACE_IN_MESSAGE = Pattern.compile("\"" + Pattern.quote(AnnotationNamespace.URI) + "\":");

    private final Schema schema;
    private final JAXBContext context;

    public AnnotationBinder() {
        try {
            SchemaFactory factory = SchemaFactory.newInstance(XMLConstants.W3C_XML_SCHEMA_NS_URI);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            this.schema = factory.newSchema(schemaUrl());
            this.context = JAXBContext.newInstance(TuneElement.class);
        } catch (SAXException | JAXBException e) {
            throw new IllegalStateException("the shipped annotation schema cannot be loaded", e);
        }
    }

    public static URL schemaUrl() {
        return AnnotationBinder.class.getResource(AnnotationNamespace.SCHEMA_RESOURCE);
    }

    /**
     * @param standaloneXml the {@code <vt:tune>} element with its namespace declarations
     * @throws VfioTuneException (exit 2) listing every schema violation
     */
    public BoundAnnotations bind(String standaloneXml) {
        List<Finding> errors = validate(standaloneXml);
        if (!errors.isEmpty()) {
            throw new AnnotationException(errors);
        }
        TuneElement tune;
        try {
            Unmarshaller unmarshaller = context.createUnmarshaller();
            tune = (TuneElement) unmarshaller.unmarshal(new StreamSource(new StringReader(standaloneXml)));
        } catch (JAXBException e) {
            throw new AnnotationException(List.of(Finding.error("ANN-INVALID", "vt:tune", "cannot be bound: " + e)));
        }
        List<Finding> duplicates = new ArrayList<>();
        onlyOnce("vt:cliques", tune.cliques, duplicates);
        onlyOnce("vt:msix-relocation", tune.msixRelocation, duplicates);
        onlyOnce("vt:spapr-phbs", tune.spaprPhbs, duplicates);
        onlyOnce("vt:igd", tune.igd, duplicates);
        onlyOnce("vt:topology", tune.topology, duplicates);
        onlyOnce("vt:grace", tune.grace, duplicates);
        onlyOnce("vt:generated", tune.generated, duplicates);
        if (!duplicates.isEmpty()) {
            throw new AnnotationException(duplicates);
        }
        return new BoundAnnotations(toAnnotations(tune), tune.generated.isEmpty() ? List.of() : tune.generated.get(0).items());
    }

    private static void onlyOnce(String element, List<?> occurrences, List<Finding> findings) {
        if (occurrences.size() > 1) {
            findings.add(Finding.error("ANN-DUPLICATE", element, "given " + occurrences.size() + " times; keep one (children of vt:tune may come in any order, each at most once)"));
        }
    }

    /** Every schema violation of a whole document of this namespace (the host policy), as findings. */
    public List<Finding> validateDocument(String xml) {
        return validate(xml);
    }

    private List<Finding> validate(String standaloneXml) {
        List<SAXParseException> problems = new ArrayList<>();
        Validator validator = schema.newValidator();
        try {
            validator.setProperty("http://apache.org/xml/properties/locale", Locale.ENGLISH);
        } catch (SAXException e) {
            // Messages then come in the JVM's locale; the raw text is still reported.
        }
        validator.setErrorHandler(new ErrorHandler() {
            @Override
            public void warning(SAXParseException exception) {
            }

            @Override
            public void error(SAXParseException exception) {
                problems.add(exception);
            }

            @Override
            public void fatalError(SAXParseException exception) {
                problems.add(exception);
            }
        });
        try {
            validator.validate(new StreamSource(new StringReader(standaloneXml)));
        } catch (SAXException | IOException e) {
            if (problems.isEmpty()) {
                return List.of(Finding.error("ANN-INVALID", "vt:tune", String.valueOf(e.getMessage())));
            }
        }
        List<Finding> findings = new ArrayList<>();
        for (SAXParseException problem : problems) {
            describe(String.valueOf(problem.getMessage())).ifPresent(findings::add);
        }
        return findings;
    }

    /** Facet errors are skipped: the cvc-attribute.3 error right after them says which attribute. */
    private Optional<Finding> describe(String message) {
        if (message.startsWith("cvc-enumeration-valid") || message.startsWith("cvc-pattern-valid")
                || message.startsWith("cvc-datatype-valid") || message.startsWith("cvc-minLength") || message.startsWith("cvc-maxLength")) {
            return Optional.empty();
        }
        Matcher matcher = ATTRIBUTE_VALUE.matcher(message);
        if (matcher.matches()) {
            return Optional.of(Finding.error("ANN-INVALID", matcher.group(3) + "/@" + matcher.group(2),
                    "'" + matcher.group(1) + "' is not allowed; allowed: " + typeDocumentation().getOrDefault(matcher.group(4), matcher.group(4))));
        }
        matcher = ATTRIBUTE_NOT_ALLOWED.matcher(message);
        if (matcher.matches()) {
            return Optional.of(Finding.error("ANN-UNKNOWN", matcher.group(2) + "/@" + matcher.group(1), "unknown attribute; see the vfio-tune-1.xsd schema"));
        }
        matcher = ATTRIBUTE_MISSING.matcher(message);
        if (matcher.matches()) {
            return Optional.of(Finding.error("ANN-INVALID", matcher.group(2) + "/@" + matcher.group(1), "required attribute is missing"));
        }
        matcher = UNEXPECTED_ELEMENT.matcher(message);
        if (matcher.matches()) {
            String expected = NAMESPACE_IN_MESSAGE.matcher(matcher.group(2)).replaceAll("vt:").trim();
            // The validator names elements {"urn:vfio-tune:1":name}; users wrote vt:name.
            String element = NAMESPACE_IN_MESSAGE.matcher(matcher.group(1)).replaceAll("vt:").replace("{", "").replace("}", "");
            return Optional.of(Finding.error("ANN-UNKNOWN", element, "element not allowed here"
                    + (expected.isEmpty() ? "" : "; " + expected.replace("'{", "").replace("}'", ""))));
        }
        matcher = DUPLICATE_HOST.matcher(message);
        if (matcher.matches()) {
            return Optional.of(Finding.error("ANN-DUPLICATE", "vt:hostdev/@host", "'" + matcher.group(1) + "' is annotated twice; keep one vt:hostdev per device"));
        }
        return Optional.of(Finding.error("ANN-INVALID", "vt:tune", message));
    }

    private static TuneAnnotations toAnnotations(TuneElement tune) {
        List<HostdevAnnotation> hostdevs = new ArrayList<>();
        for (TuneElement.HostdevElement hostdev : tune.hostdevs) {
            Optional<Clique> clique = Optional.ofNullable(hostdev.clique).map(value -> value.equals("none")
                    ? Clique.none() : Clique.of(Integer.parseInt(value)));
            hostdevs.add(new HostdevAnnotation(PciAddress.parse(hostdev.host), clique, Optional.ofNullable(hostdev.msixRelocation)));
        }
        return new TuneAnnotations(
                "warn".equals(tune.onMismatch) ? TuneAnnotations.OnMismatch.WARN : TuneAnnotations.OnMismatch.REFUSE,
                mode(tune.cliques, TuneAnnotations.CliqueMode.class, TuneAnnotations.CliqueMode.OFF),
                mode(tune.msixRelocation, TuneAnnotations.MsixMode.class, TuneAnnotations.MsixMode.OFF),
                mode(tune.spaprPhbs, TuneAnnotations.PhbMode.class, TuneAnnotations.PhbMode.OFF),
                mode(tune.igd, TuneAnnotations.IgdMode.class, TuneAnnotations.IgdMode.OFF),
                mode(tune.topology, TuneAnnotations.TopologyMode.class, TuneAnnotations.TopologyMode.OFF),
                mode(tune.grace, TuneAnnotations.GraceMode.class, TuneAnnotations.GraceMode.OFF),
                hostdevs);
    }

    private static <E extends Enum<E>> E mode(List<TuneElement.ModeElement> elements, Class<E> type, E absent) {
        if (elements.isEmpty() || elements.get(0).mode == null) {
            return absent;
        }
        return Enum.valueOf(type, elements.get(0).mode.toUpperCase(Locale.ROOT).replace('-', '_'));
    }

    private static volatile Map<String, String> typeDocumentation;

    /** simpleType name → its documentation line, read from the shipped XSD (only on the error path). */
    private static Map<String, String> typeDocumentation() {
        if (typeDocumentation == null) {
            Map<String, String> result = new HashMap<>();
            try (InputStream in = schemaUrl().openStream()) {
                DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
                factory.setNamespaceAware(true);
                factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
                NodeList types = factory.newDocumentBuilder().parse(in).getElementsByTagNameNS(XMLConstants.W3C_XML_SCHEMA_NS_URI, "simpleType");
                for (int i = 0; i < types.getLength(); i++) {
                    Element type = (Element) types.item(i);
                    NodeList documentation = type.getElementsByTagNameNS(XMLConstants.W3C_XML_SCHEMA_NS_URI, "documentation");
                    if (documentation.getLength() > 0) {
                        result.put(type.getAttribute("name"), documentation.item(0).getTextContent().trim());
                    }
                }
            } catch (Exception e) {
                // Without the documentation the message names the schema type instead.
            }
            typeDocumentation = Map.copyOf(result);
        }
        return typeDocumentation;
    }

    /** Every schema violation of one {@code <vt:tune>}, reported together. */
    public static final class AnnotationException extends VfioTuneException {
        private final List<Finding> findings;

        AnnotationException(List<Finding> findings) {
            super(ExitStatus.REFUSED, findings.get(0));
            this.findings = List.copyOf(findings);
        }

        public List<Finding> findings() {
            return findings;
        }
    }
}
