package io.vfiotune.xml.engine;

import io.vfiotune.xml.tree.SecureXmlReader;

import static java.util.Objects.requireNonNull;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainTransform;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.Severity;
import io.vfiotune.spi.TransformResult;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.spi.Version;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.xml.annotations.AnnotationBinder;
import io.vfiotune.xml.annotations.AnnotationNamespace;
import io.vfiotune.xml.annotations.BoundAnnotations;
import io.vfiotune.xml.annotations.GeneratedElement.Item;
import io.vfiotune.xml.policy.HostPolicy;
import io.vfiotune.xml.tree.LosslessXmlParser;
import io.vfiotune.xml.tree.XmlDocument;
import io.vfiotune.xml.tree.XmlElement;
import jakarta.inject.Inject;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Plans one domain: parse losslessly, take back what vfio-tune generated last
 * time, let every transform plan against the host, and apply the edits only
 * if none refused. A domain without {@code <vt:tune>} is returned as the very
 * bytes it came in as.
 */
public final class DomainPlanner {
    private final List<DomainTransform> transforms;
    private final AnnotationBinder binder;
    private final HostPolicy policy;

    @Inject
    public DomainPlanner(Set<DomainTransform> transforms, AnnotationBinder binder, HostPolicy policy) {
        requireNonNull(transforms, "transforms is null");
        this.transforms = transforms.stream().sorted(Comparator.comparingInt(DomainTransform::order).thenComparing(DomainTransform::name)).toList();
        this.binder = requireNonNull(binder, "binder is null");
        this.policy = requireNonNull(policy, "policy is null");
    }

    public List<DomainTransform> transforms() {
        return transforms;
    }

    /**
     * @throws VfioTuneException for input that is not a readable domain (exit 1) or invalid annotations (exit 2)
     */
    public PlanResult plan(byte[] input, HostTopology host) {
        return plan(input, host, Optional.empty());
    }

    /**
     * Plans with the annotations a management stack supplies for the domain (a KubeVirt VMI's
     * annotation, an oVirt VM's custom property): a {@code <vt:tune>} that counts as the domain's
     * own, used when the definition has none of its own.
     *
     * @param suppliedTune a standalone {@code <vt:tune>} element in the vfio-tune namespace
     * @throws VfioTuneException for input that is not a readable domain (exit 1) or invalid annotations (exit 2)
     */
    public PlanResult plan(byte[] input, HostTopology host, Optional<String> suppliedTune) {
        String text = SecureXmlReader.checkedText(input, "input");
        if (!text.contains(AnnotationNamespace.URI) && suppliedTune.isEmpty() && policy.isEmpty()) {
            // Not even the namespace, and nothing to bring it: nothing can be annotated, so nothing is parsed further.
            return unchanged(input, false, "");
        }
        XmlDocument document = parseDomain(text);
        XmlElement root = document.root();
        List<XmlElement> tunes = DomainXml.child(root, "metadata")
                .map(metadata -> metadata.childElements(AnnotationNamespace.URI, "tune")).orElse(List.of());
        String name = DomainXml.child(root, "name").map(XmlElement::text).map(String::trim).orElse("");
        if (tunes.size() > 1) {
            throw new VfioTuneException(ExitStatus.REFUSED, Finding.error("ANN-DUPLICATE", "vt:tune",
                    "the domain has " + tunes.size() + " <vt:tune> elements in <metadata>; keep exactly one"));
        }
        List<Finding> sourceFindings = new ArrayList<>();
        boolean dropTuneAfter = false;
        boolean ownTune = !tunes.isEmpty() && tunes.get(0).attribute("policy-rule").isEmpty();
        if (!ownTune) {
            // The domain's own annotation always wins; else the stack's; else the policy's first matching rule.
            Optional<XmlElement> previous = tunes.isEmpty() ? Optional.empty() : Optional.of(tunes.get(0));
            Optional<HostPolicy.Rule> rule = suppliedTune.isPresent() ? Optional.empty()
                    : policy.firstMatch(new DomainXml(root, TuneAnnotations.NONE), host);
            if (suppliedTune.isPresent()) {
                installTune(root, previous, suppliedTune.get(), "the supplied annotation");
            } else if (rule.isPresent()) {
                installTune(root, previous, rule.get().tuneXml(), "policy rule '" + rule.get().name() + "'");
                sourceFindings.add(Finding.info("POLICY-RULE", "domain " + name, "the host policy's rule '" + rule.get().name() + "' (" + rule.get().describe()
                        + ", on-mismatch=" + rule.get().onMismatch().name().toLowerCase(java.util.Locale.ROOT) + ") gives this domain its annotations"));
            } else if (previous.isPresent()) {
                // A rule selected it once and none does now: plan with no annotation, which takes back what that rule's plan wrote.
                // Built as an element, never spliced as text: the old rule's name and on-mismatch are the definition's, not trusted markup.
                XmlElement empty = XmlElement.create("vt:tune", "xmlns:vt", AnnotationNamespace.URI);
                empty.setAttribute("on-mismatch", previous.get().attribute("on-mismatch").filter("refuse"::equals).orElse("warn"));
                installTune(root, previous, empty.toStandaloneXml(), "an empty annotation");
                dropTuneAfter = true;
                sourceFindings.add(Finding.info("POLICY-NONE", "domain " + name, "no rule of the host policy selects this domain any more (it had rule '"
                        + previous.get().attribute("policy-rule").orElse("") + "'); the policy's annotation and what it generated are taken out"));
            } else {
                return unchanged(input, false, name);
            }
            tunes = DomainXml.child(root, "metadata").map(metadata -> metadata.childElements(AnnotationNamespace.URI, "tune")).orElse(List.of());
        }
        XmlElement tune = tunes.get(0);
        BoundAnnotations bound = binder.bind(tune.toStandaloneXml());
        java.util.Map<String, String> previousMachine = new java.util.TreeMap<>();
        for (io.vfiotune.xml.annotations.GeneratedElement.Item item : bound.generated()) {
            if (item instanceof io.vfiotune.xml.annotations.GeneratedElement.Item.Argument argument && "-machine".equals(argument.option)
                    && argument.value != null && argument.value.indexOf('=') > 0) {
                previousMachine.put(argument.value.substring(0, argument.value.indexOf('=')), argument.value.substring(argument.value.indexOf('=') + 1));
            }
        }
        DomainXml domain = new DomainXml(root, bound.annotations(), previousMachine);
        QemuNamespaceEditor editor = new QemuNamespaceEditor(domain);
        // What the definition carried before vfio-tune's own output was taken back: a guest-visible
        // command-line item it already had is no change (the hook must not refuse a restore over it).
        java.util.Set<String> pairsBefore = editor.commandlinePairs();
        editor.revert(bound.generated());
        tune.firstChild(AnnotationNamespace.URI, "generated").ifPresent(tune::removeChild);

        List<Finding> findings = new ArrayList<>(sourceFindings);
        findings.addAll(checkAnnotatedHostdevs(domain));
        List<DomainEdit> edits = new ArrayList<>();
        for (DomainTransform transform : transforms) {
            TransformResult result = transform.plan(domain, host);
            edits.addAll(result.edits());
            findings.addAll(result.findings());
        }
        // Transforms check the same hostdev independently (missing, wrong driver); say each thing once.
        List<Finding> distinct = List.copyOf(new LinkedHashSet<>(findings));
        findings.clear();
        findings.addAll(distinct);
        if (findings.stream().anyMatch(finding -> finding.severity() == Severity.ERROR)) {
            return new PlanResult(Optional.empty(), false, true, name, edits, findings, domain.annotations().onMismatch());
        }
        List<DomainEdit> layout = new ArrayList<>(new DeviceLayoutEditor(domain).apply(edits, document));
        for (DomainEdit edit : edits) {
            if (edit instanceof DomainEdit.AddGenericInitiators initiators && !pairsBefore.containsAll(editor.addGenericInitiators(initiators))) {
                layout.add(edit);
            } else if (edit instanceof DomainEdit.SetMachineProperty machine && !pairsBefore.containsAll(editor.setMachineProperty(machine))) {
                layout.add(edit);
            }
        }
        // Guest-visible edits the definition already carries are not changes; the hook must not refuse a restore over them.
        edits.removeIf(edit -> edit.guestVisible() && !layout.contains(edit));
        for (DomainEdit edit : edits) {
            if (edit instanceof DomainEdit.SetFirmwareConfig fwCfg) {
                // a command-line item every libvirt and QEMU version takes, whatever the property form
                editor.setFirmwareConfig(fwCfg);
            }
        }
        List<DomainEdit> properties = edits.stream().filter(edit -> edit instanceof DomainEdit.SetDeviceProperty || edit instanceof DomainEdit.SetAliasedDeviceProperty).toList();
        if (!properties.isEmpty()) {
            Optional<OutputForm> form = chooseForm(domain, host, findings);
            if (form.isEmpty()) {
                return new PlanResult(Optional.empty(), false, true, name, edits, findings, domain.annotations().onMismatch());
            }
            for (DomainEdit edit : properties) {
                if (edit instanceof DomainEdit.SetDeviceProperty property) {
                    editor.setProperty(property, form.get());
                } else if (edit instanceof DomainEdit.SetAliasedDeviceProperty property) {
                    editor.setProperty(property, form.get());
                }
            }
        }
        findings.addAll(editor.findings());
        if (findings.stream().anyMatch(finding -> finding.severity() == Severity.ERROR)) {
            return new PlanResult(Optional.empty(), false, true, name, edits, findings, domain.annotations().onMismatch());
        }
        writeRecord(tune, editor.record());
        if (dropTuneAfter && tune.childElements().isEmpty()) {
            XmlElement metadata = tune.parent();
            metadata.removeChild(tune);
            if (metadata.childElements().isEmpty() && metadata.isEmptyOfContent()) {
                root.removeChild(metadata);
            }
        }
        String output = document.serialize();
        if (output.equals(text)) {
            return new PlanResult(Optional.of(input), false, true, name, edits, findings, domain.annotations().onMismatch());
        }
        return new PlanResult(Optional.of(output.getBytes(StandardCharsets.UTF_8)), true, true, name, edits, findings, domain.annotations().onMismatch());
    }

    /**
     * The domain as transforms see it, for reports that read a definition (a plan's
     * output among them) without planning it. Without {@code <vt:tune>} every
     * annotation reads as off.
     *
     * @throws VfioTuneException for input that is not a readable domain, or invalid annotations
     */
    public DomainView view(byte[] input) {
        String text = SecureXmlReader.checkedText(input, "input");
        XmlDocument document = parseDomain(text);
        XmlElement root = document.root();
        Optional<XmlElement> tune = DomainXml.child(root, "metadata").flatMap(metadata -> metadata.firstChild(AnnotationNamespace.URI, "tune"));
        TuneAnnotations annotations = tune.isPresent() ? binder.bind(tune.get().toStandaloneXml()).annotations() : TuneAnnotations.NONE;
        return new DomainXml(root, annotations);
    }

    /**
     * Puts a {@code <vt:tune>} that is not the user's in the domain's {@code <metadata>}: in place
     * of {@code previous} (the policy's from an earlier plan), whose {@code <vt:generated>} record it
     * takes over so the re-plan can take that output back, or as the metadata's last child.
     */
    private void installTune(XmlElement root, Optional<XmlElement> previous, String tuneXml, String what) {
        XmlElement tune;
        // a stack's annotation is input like the domain: the same checks (no DTD, no entities, bounded) before parsing
        SecureXmlReader.checkedText(tuneXml.getBytes(StandardCharsets.UTF_8), what);
        try {
            tune = LosslessXmlParser.parse(tuneXml).root();
        } catch (IllegalArgumentException e) {
            throw new VfioTuneException(ExitStatus.REFUSED, Finding.error("ANN-INVALID", "vt:tune", what + " is not well-formed XML: " + e.getMessage()));
        }
        if (!tune.is(AnnotationNamespace.URI, "tune")) {
            throw new VfioTuneException(ExitStatus.REFUSED, Finding.error("ANN-INVALID", "vt:tune", what + " must be one <tune> element in the " + AnnotationNamespace.URI
                    + " namespace, not <" + tune.name() + ">"));
        }
        if (tune.firstChild(AnnotationNamespace.URI, "generated").isPresent()) {
            throw new VfioTuneException(ExitStatus.REFUSED, Finding.error("ANN-INVALID", "vt:generated", what + " may not carry vfio-tune's own record"));
        }
        if (previous.isPresent()) {
            XmlElement metadata = previous.get().parent();
            Optional<XmlElement> record = previous.get().firstChild(AnnotationNamespace.URI, "generated");
            metadata.insertChildAfter(previous.get(), tune);
            metadata.removeChild(previous.get());
            if (record.isPresent()) {
                previous.get().removeChild(record.get());
                // the record's prefix must resolve in its new place
                String prefix = record.get().prefix();
                if (!prefix.isEmpty() && tune.namespaceFor(prefix).filter(AnnotationNamespace.URI::equals).isEmpty()) {
                    tune.setAttribute("xmlns:" + prefix, AnnotationNamespace.URI);
                }
                tune.appendChild(record.get());
            }
            return;
        }
        XmlElement metadata = DomainXml.child(root, "metadata").orElseGet(() -> {
            // libvirt's schema takes <metadata> anywhere among the domain's children; after <uuid> (or <name>) is where it writes it
            Optional<XmlElement> anchor = DomainXml.child(root, "uuid").or(() -> DomainXml.child(root, "name"));
            return root.insertChildAfter(anchor.orElse(null), XmlElement.create("metadata"));
        });
        metadata.appendChild(tune);
    }

    /** The lossless tree of a libvirt {@code <domain>}; anything else is refused as unreadable input. */
    private static XmlDocument parseDomain(String text) {
        XmlDocument document;
        try {
            document = LosslessXmlParser.parse(text);
        } catch (IllegalArgumentException e) {
            throw SecureXmlReader.refuse("XML-MALFORMED", "input", e.getMessage());
        }
        XmlElement root = document.root();
        if (!root.localName().equals("domain") || !root.namespaceUri().isEmpty()) {
            throw SecureXmlReader.refuse("XML-NOT-DOMAIN", "<" + root.name() + ">", "the document is not a libvirt <domain> definition");
        }
        return document;
    }

    private static PlanResult unchanged(byte[] input, boolean annotated, String name) {
        return new PlanResult(Optional.of(input), false, annotated, name, List.of(), List.of(), TuneAnnotations.OnMismatch.REFUSE);
    }

    /**
     * A per-device annotation for a device the domain does not pass through is a mistake worth refusing; so is
     * one host device passed through twice, which VFIO cannot do and which edits (addressed by source) cannot tell apart.
     */
    private static List<Finding> checkAnnotatedHostdevs(DomainXml domain) {
        Set<PciAddress> present = new HashSet<>();
        List<Finding> findings = new ArrayList<>();
        for (HostdevView hostdev : domain.pciHostdevs()) {
            if (!present.add(hostdev.source())) {
                findings.add(Finding.error("HOSTDEV-DUPLICATE", hostdev.source().toString(),
                        "the domain has two <hostdev> elements for this host device; a device can be passed through once, so remove one"));
            }
        }
        for (TuneAnnotations.HostdevAnnotation annotation : domain.annotations().hostdevs()) {
            if (!present.contains(annotation.host())) {
                findings.add(Finding.error("ANN-UNKNOWN-HOSTDEV", annotation.host().toString(),
                        "vt:hostdev names a device the domain has no PCI <hostdev> for; add the hostdev or remove the annotation"));
            }
        }
        return findings;
    }

    private static Optional<OutputForm> chooseForm(DomainXml domain, HostTopology host, List<Finding> findings) {
        Version libvirt = host.facts().libvirtVersion();
        Version qemu = host.facts().qemuVersion(domain.emulator());
        Optional<OutputForm> form = OutputForm.choose(libvirt, qemu);
        if (form.isEmpty()) {
            findings.add(Finding.error("OUTPUT-UNSUPPORTED", "domain " + domain.name(), "libvirt " + libvirt + " with QEMU " + qemu
                    + " has no working way to set device properties: <qemu:override> needs libvirt >= 8.2, and -set stopped working with QEMU >= 6.2; upgrade libvirt to 8.2 or later"));
        }
        return form;
    }

    /** Replaces the record with what this plan generated; no record at all when it generated nothing. */
    private static void writeRecord(XmlElement tune, List<Item> items) {
        if (items.isEmpty()) {
            return;
        }
        String prefix = tune.prefix().isEmpty() ? "" : tune.prefix() + ":";
        XmlElement generated = tune.appendChild(XmlElement.create(prefix + "generated"));
        for (Item item : items) {
            if (item instanceof Item.Alias alias) {
                generated.appendChild(alias.was == null ? XmlElement.create(prefix + "alias", "host", alias.host, "name", alias.name)
                        : XmlElement.create(prefix + "alias", "host", alias.host, "name", alias.name, "was", alias.was));
            } else if (item instanceof Item.Property property) {
                generated.appendChild(XmlElement.create(prefix + "property", "alias", property.alias, "name", property.name));
            } else if (item instanceof Item.SetArgument set) {
                generated.appendChild(XmlElement.create(prefix + "set", "alias", set.alias, "name", set.name));
            } else if (item instanceof Item.Argument argument) {
                generated.appendChild(XmlElement.create(prefix + "arg", "option", argument.option, "value", argument.value));
            } else if (item instanceof Item.FirmwareConfig fwCfg) {
                generated.appendChild(XmlElement.create(prefix + "fw-cfg", "name", fwCfg.name, "value", fwCfg.value));
            } else if (item instanceof Item.Container container) {
                generated.appendChild(container.alias == null ? XmlElement.create(prefix + "container", "kind", container.kind)
                        : XmlElement.create(prefix + "container", "kind", container.kind, "alias", container.alias));
            }
        }
    }
}
