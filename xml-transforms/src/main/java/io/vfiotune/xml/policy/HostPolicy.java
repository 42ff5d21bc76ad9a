package io.vfiotune.xml.policy;

import static java.util.Objects.requireNonNull;

import io.vfiotune.pci.PciFunction;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.xml.annotations.AnnotationBinder;
import io.vfiotune.xml.annotations.AnnotationNamespace;
import io.vfiotune.xml.tree.LosslessXmlParser;
import io.vfiotune.xml.tree.SecureXmlReader;
import io.vfiotune.xml.tree.XmlDocument;
import io.vfiotune.xml.tree.XmlElement;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The host policy: annotations for domains the operator does not write, chosen by rules.
 * Stacks that generate the XML themselves (oVirt, KubeVirt, OpenStack) never put a
 * {@code <vt:tune>} in it; the policy says which of their domains get which. Rules are
 * tried in order and the first whose {@code <vt:match>} holds wins; a domain's own
 * {@code <vt:tune>} always wins over every rule.
 */
public final class HostPolicy {
    public static final HostPolicy NONE = new HostPolicy(List.of());

    private final List<Rule> rules;

    /**
     * One rule.
     *
     * @param tuneXml the rule's {@code <vt:tune>} as a standalone element, carrying the rule's
     *        {@code policy-rule} and {@code on-mismatch}
     */
    public record Rule(String name, TuneAnnotations.OnMismatch onMismatch, Optional<String> domainGlob, Optional<String> hostdev, Optional<String> architecture,
            String tuneXml) {
        public Rule {
            requireNonNull(name, "name is null");
            requireNonNull(onMismatch, "onMismatch is null");
            requireNonNull(tuneXml, "tuneXml is null");
        }

        /** Whether every selector the rule gives holds for the domain on this host. */
        public boolean matches(DomainView domain, HostTopology host) {
            if (domainGlob.isPresent() && !glob(domainGlob.get()).matcher(domain.name()).matches()) {
                return false;
            }
            if (architecture.isPresent() && !architecture.get().equals(domain.architecture().orElse(""))) {
                return false;
            }
            if (hostdev.isPresent()) {
                String[] ids = hostdev.get().toLowerCase(Locale.ROOT).split(":");
                boolean found = false;
                for (HostdevView view : domain.pciHostdevs()) {
                    Optional<PciFunction> function = host.function(view.source());
                    if (function.isPresent() && String.format(Locale.ROOT, "%04x", function.get().vendorId()).equals(ids[0])
                            && (ids[1].equals("*") || String.format(Locale.ROOT, "%04x", function.get().deviceId()).equals(ids[1]))) {
                        found = true;
                        break;
                    }
                }
                if (!found) {
                    return false;
                }
            }
            return true;
        }

        /** The selectors, for messages: {@code domain 'gpu-*', hostdev 10de:*}. */
        public String describe() {
            List<String> parts = new ArrayList<>();
            domainGlob.ifPresent(glob -> parts.add("domain '" + glob + "'"));
            hostdev.ifPresent(ids -> parts.add("hostdev " + ids));
            architecture.ifPresent(arch -> parts.add("arch " + arch));
            return parts.isEmpty() ? "every domain" : String.join(", ", parts);
        }
    }

    private HostPolicy(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    public boolean isEmpty() {
        return rules.isEmpty();
    }

    public Optional<Rule> firstMatch(DomainView domain, HostTopology host) {
        return rules.stream().filter(rule -> rule.matches(domain, host)).findFirst();
    }

    /**
     * Reads and checks a policy file: the schema, then each rule's {@code <vt:tune>} as a domain's
     * would be bound. Any problem is an error naming the file (exit 1), never a silently ignored rule.
     */
    public static HostPolicy load(Path file, AnnotationBinder binder) {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = SecureXmlReader.readBounded(in, file.toString());
        } catch (NoSuchFileException e) {
            throw invalid(file, "no such file");
        } catch (IOException e) {
            throw invalid(file, "cannot be read: " + e.getMessage());
        }
        String text;
        XmlDocument document;
        try {
            text = SecureXmlReader.checkedText(bytes, file.toString());
            document = LosslessXmlParser.parse(text);
        } catch (VfioTuneException e) {
            throw invalid(file, e.finding().message());
        } catch (RuntimeException e) {
            throw invalid(file, "is not well-formed XML: " + e.getMessage());
        }
        XmlElement root = document.root();
        if (!root.is(AnnotationNamespace.URI, "policy")) {
            throw invalid(file, "the root element must be <policy> in the " + AnnotationNamespace.URI + " namespace, not <" + root.name() + ">");
        }
        List<Finding> problems = binder.validateDocument(text);
        if (!problems.isEmpty()) {
            throw invalid(file, String.join("; ", problems.stream().map(problem -> problem.subject() + ": " + problem.message()).toList()));
        }
        List<Rule> rules = new ArrayList<>();
        for (XmlElement element : root.childElements(AnnotationNamespace.URI, "rule")) {
            String name = element.attribute("name").orElseThrow();
            TuneAnnotations.OnMismatch onMismatch = "refuse".equals(element.attribute("on-mismatch").orElse("warn"))
                    ? TuneAnnotations.OnMismatch.REFUSE : TuneAnnotations.OnMismatch.WARN;
            Optional<XmlElement> match = element.firstChild(AnnotationNamespace.URI, "match");
            XmlElement tune = element.firstChild(AnnotationNamespace.URI, "tune").orElseThrow();
            for (String attribute : List.of("on-mismatch", "policy-rule")) {
                if (tune.attribute(attribute).isPresent()) {
                    throw invalid(file, "rule '" + name + "': its <vt:tune> gives " + attribute + "; the rule's own on-mismatch says what the gate does, and vfio-tune writes policy-rule");
                }
            }
            if (tune.firstChild(AnnotationNamespace.URI, "generated").isPresent()) {
                throw invalid(file, "rule '" + name + "': <vt:generated> is vfio-tune's record in a domain, never part of a rule");
            }
            XmlElement standalone = LosslessXmlParser.parse(tune.toStandaloneXml()).root();
            standalone.setAttribute("policy-rule", name);
            standalone.setAttribute("on-mismatch", onMismatch == TuneAnnotations.OnMismatch.REFUSE ? "refuse" : "warn");
            String tuneXml = standalone.toStandaloneXml();
            try {
                binder.bind(tuneXml);
            } catch (VfioTuneException e) {
                throw invalid(file, "rule '" + name + "': " + e.finding().subject() + ": " + e.finding().message());
            }
            rules.add(new Rule(name, onMismatch, match.flatMap(m -> m.attribute("domain")), match.flatMap(m -> m.attribute("hostdev")),
                    match.flatMap(m -> m.attribute("arch")), tuneXml));
        }
        return new HostPolicy(rules);
    }

    /** A shell glob ({@code *}, {@code ?}) as a whole-name pattern; every other character stands for itself. */
    static Pattern glob(String glob) {
        StringBuilder regex = new StringBuilder();
        for (char c : glob.toCharArray()) {
            switch (c) {
                case '*' -> regex.append(".*");
                case '?' -> regex.append('.');
                default -> regex.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(regex.toString(), Pattern.DOTALL);
    }

    private static VfioTuneException invalid(Path file, String message) {
        return new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("POLICY-INVALID", file.toString(), message));
    }
}
