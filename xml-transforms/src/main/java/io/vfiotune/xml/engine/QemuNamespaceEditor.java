package io.vfiotune.xml.engine;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.spi.DomainEdit.SetDeviceProperty;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.Finding;
import io.vfiotune.xml.annotations.GeneratedElement.Item;
import io.vfiotune.xml.tree.XmlElement;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Writes and removes vfio-tune's device properties in the {@code qemu:}
 * namespace. Everything it creates is recorded, so a re-plan can take exactly
 * that back out; what the user wrote there is never touched and always wins.
 * <p>One file over 350 lines on purpose: everything vfio-tune writes in the qemu: namespace
 * (overrides, command-line items, their record in vt:generated and taking them back) must agree
 * on one bookkeeping of aliases and arguments.
 */
final class QemuNamespaceEditor {
    /** The user aliases vfio-tune can carry properties for: a valid QEMU id, as the schema's userAlias type says. */
    private static final Pattern QEMU_ID = Pattern.compile("ua-[A-Za-z0-9_\\-.]+");

    static final String QEMU_NAMESPACE = "http://libvirt.org/schemas/domain/qemu/1.0";
    static final String KIND_OVERRIDE = "override";
    static final String KIND_DEVICE = "device";
    static final String KIND_FRONTEND = "frontend";
    static final String KIND_COMMANDLINE = "commandline";

    private final DomainXml domain;
    private final XmlElement root;
    private final List<Item> record = new ArrayList<>();
    private final List<Finding> findings = new ArrayList<>();

    QemuNamespaceEditor(DomainXml domain) {
        this.domain = domain;
        this.root = domain.domainElement();
    }

    List<Item> record() {
        return List.copyOf(record);
    }

    List<Finding> findings() {
        return List.copyOf(findings);
    }

    /** Removes what an earlier plan recorded, leaving the definition as the user wrote it. */
    void revert(List<Item> previous) {
        for (Item item : previous) {
            if (item instanceof Item.Property property) {
                frontend(property.alias).flatMap(frontend -> frontend.childElements(QEMU_NAMESPACE, "property").stream()
                        .filter(element -> property.name.equals(element.attribute("name").orElse(""))).findFirst())
                        .ifPresent(element -> element.parent().removeChild(element));
            } else if (item instanceof Item.SetArgument set) {
                String prefix = "device." + set.alias + "." + set.name + "=";
                commandline().ifPresent(commandline -> removeFirstPair(commandline, (option, value) -> option.equals("-set") && value.startsWith(prefix)));
            } else if (item instanceof Item.FirmwareConfig fwCfg) {
                // exactly what an earlier plan wrote: an item the user has changed since is the user's and stays
                String written = firmwareConfigValue(fwCfg.name, fwCfg.value == null ? "" : fwCfg.value);
                commandline().ifPresent(commandline -> removeFirstPair(commandline, (option, value) -> isFirmwareConfigOption(option) && value.equals(written)));
            } else if (item instanceof Item.Argument argument) {
                commandline().ifPresent(commandline -> removeFirstPair(commandline, (option, value) -> option.equals(argument.option) && value.equals(argument.value)));
            }
        }
        for (Item item : previous) {
            if (item instanceof Item.Container container && container.kind.equals(KIND_FRONTEND)) {
                frontend(container.alias).ifPresent(QemuNamespaceEditor::removeIfEmpty);
            }
        }
        for (Item item : previous) {
            if (item instanceof Item.Container container && container.kind.equals(KIND_DEVICE)) {
                device(container.alias).ifPresent(QemuNamespaceEditor::removeIfEmpty);
            }
        }
        for (Item item : previous) {
            if (item instanceof Item.Container container) {
                if (container.kind.equals(KIND_OVERRIDE)) {
                    override().ifPresent(QemuNamespaceEditor::removeIfEmpty);
                } else if (container.kind.equals(KIND_COMMANDLINE)) {
                    commandline().ifPresent(QemuNamespaceEditor::removeIfEmpty);
                }
            } else if (item instanceof Item.Alias alias) {
                revertAlias(alias);
            }
        }
    }

    /** One property to set, whichever edit asked for it. */
    private record Property(String subject, String property, DomainEdit.PropertyType type, String value) {
    }

    /** Sets one property in the chosen form; a property the user already set wins, with a warning. */
    void setProperty(SetDeviceProperty edit, OutputForm form) {
        XmlElement hostdev = domain.hostdevElement(edit.hostdev()).orElseThrow(() -> new IllegalStateException("no hostdev " + edit.hostdev()));
        String alias = ensureAlias(hostdev, edit);
        set(alias, new Property(edit.subject(), edit.property(), edit.type(), edit.value()), form);
    }

    /** The same for a device the user aliased; a missing alias is a finding, not a crash, since site transforms may guess wrong. */
    void setProperty(DomainEdit.SetAliasedDeviceProperty edit, OutputForm form) {
        boolean present = domain.deviceElements().stream().anyMatch(device -> DomainXml.child(device, "alias")
                .flatMap(alias -> alias.attribute("name")).filter(edit.alias()::equals).isPresent());
        if (!present) {
            findings.add(Finding.error("ALIAS-MISSING", edit.alias(), "no device of the domain has this alias, so " + edit.property() + " cannot be set"));
            return;
        }
        set(edit.alias(), new Property(edit.subject(), edit.property(), edit.type(), edit.value()), form);
    }

    private void set(String alias, Property property, OutputForm form) {
        if (form == OutputForm.OVERRIDE) {
            setOverride(alias, property);
        } else {
            setCommandline(alias, property);
        }
    }

    /** The {@code OPTION VALUE} pairs of {@code <qemu:commandline>} as they are now. */
    java.util.Set<String> commandlinePairs() {
        java.util.Set<String> pairs = new java.util.HashSet<>();
        commandline().ifPresent(commandline -> {
            List<XmlElement> arguments = commandline.childElements(QEMU_NAMESPACE, "arg");
            for (int i = 1; i < arguments.size(); i++) {
                pairs.add(arguments.get(i - 1).attribute("value").orElse("") + " " + arguments.get(i).attribute("value").orElse(""));
            }
        });
        return pairs;
    }

    /**
     * Writes a Grace GPU's nodes and Generic Initiators; the hostdev gets a stable alias for pci-dev=.
     *
     * @return the pairs written, as {@link #commandlinePairs()} names them
     */
    List<String> addGenericInitiators(DomainEdit.AddGenericInitiators edit) {
        XmlElement hostdev = domain.hostdevElement(edit.hostdev()).orElseThrow(() -> new IllegalStateException("no hostdev " + edit.hostdev()));
        String alias = ensureAlias(hostdev, edit.hostdev());
        List<String[]> pairs = new ArrayList<>();
        for (int node : edit.nodes()) {
            pairs.add(new String[] {"-numa", "node,nodeid=" + node});
        }
        for (int i = 0; i < edit.nodes().size(); i++) {
            // the object id from the host address: bounded, whatever the length of the user's alias
            pairs.add(new String[] {"-object", "acpi-generic-initiator,id=vt-gi-" + edit.hostdev().generatedAlias().substring("ua-vt-".length()) + "-" + i
                    + ",pci-dev=" + alias + ",node=" + edit.nodes().get(i)});
        }
        return addArguments(pairs);
    }

    /**
     * Writes {@code -machine NAME=VALUE}; a definition whose command line already sets the property keeps
     * its value (the transform has judged it), so nothing is written then.
     *
     * @return the pairs written, as {@link #commandlinePairs()} names them
     */
    List<String> setMachineProperty(DomainEdit.SetMachineProperty edit) {
        List<String> arguments = domain.qemuCommandlineArguments();
        for (int i = 1; i < arguments.size(); i++) {
            String option = arguments.get(i - 1);
            boolean machine = option.equals("-machine") || option.equals("--machine") || option.equals("-M");
            if (machine && java.util.Arrays.stream(arguments.get(i).split(",")).anyMatch(part -> part.startsWith(edit.name() + "="))) {
                // QEMU takes the last -machine value: a second one would silently override the user's
                return List.of();
            }
        }
        return addArguments(List.<String[]>of(new String[] {"-machine", edit.name() + "=" + edit.value()}));
    }

    /** Appends option/value pairs the command line lacks, each recorded so a re-plan takes back exactly it. */
    private List<String> addArguments(List<String[]> pairs) {
        XmlElement target = commandline().orElseGet(() -> {
            container(KIND_COMMANDLINE, null);
            return root.appendChild(qemuElement(root, "commandline"));
        });
        java.util.Set<String> present = commandlinePairs();
        List<String> written = new ArrayList<>();
        for (String[] pair : pairs) {
            if (present.contains(pair[0] + " " + pair[1])) {
                written.add(pair[0] + " " + pair[1]);
                continue;
            }
            target.appendChild(qemuElement(target, "arg", "value", pair[0]));
            target.appendChild(qemuElement(target, "arg", "value", pair[1]));
            Item.Argument item = new Item.Argument();
            item.option = pair[0];
            item.value = pair[1];
            record.add(item);
            written.add(pair[0] + " " + pair[1]);
        }
        return written;
    }

    private String ensureAlias(XmlElement hostdev, SetDeviceProperty edit) {
        return ensureAlias(hostdev, edit.hostdev());
    }

    private String ensureAlias(XmlElement hostdev, io.vfiotune.pci.PciAddress host) {
        Optional<XmlElement> existing = DomainXml.child(hostdev, "alias");
        Optional<String> name = existing.flatMap(element -> element.attribute("name"));
        if (name.isPresent() && name.get().startsWith("ua-")) {
            if (!QEMU_ID.matcher(name.get()).matches()) {
                // QEMU takes the alias as the device id and refuses anything but letters, digits, '-', '_' and '.'.
                findings.add(Finding.error("ALIAS-INVALID", host.toString(), "the user alias '" + name.get()
                        + "' is not a valid QEMU device id (ua- then letters, digits, '-', '_' or '.'); QEMU would refuse to start; rename it"));
            }
            return name.get();
        }
        String generated = host.generatedAlias();
        if (existing.isPresent()) {
            // An automatic alias (hostdev0) is reassigned by libvirt at every start; only ua- aliases are stable.
            // Renamed in place, and the old name recorded, so a re-plan restores exactly what was there.
            existing.get().setAttribute("name", generated);
        } else {
            // libvirt accepts <alias> anywhere in a hostdev; appending keeps the user's elements where they were.
            hostdev.appendChild(XmlElement.create("alias", "name", generated));
        }
        if (record.stream().noneMatch(item -> item instanceof Item.Alias known && known.name.equals(generated))) {
            Item.Alias item = new Item.Alias();
            item.host = host.toString();
            item.name = generated;
            // null: vfio-tune created the element; "": the user's element had no name; else the name it had.
            item.was = existing.isPresent() ? name.orElse("") : null;
            record.add(item);
        }
        return generated;
    }

    private void revertAlias(Item.Alias alias) {
        try {
            PciAddress host = PciAddress.parse(alias.host);
            domain.hostdevElement(host).flatMap(hostdev -> DomainXml.child(hostdev, "alias"))
                    .filter(element -> alias.name.equals(element.attribute("name").orElse("")))
                    .ifPresent(element -> {
                        if (alias.was == null) {
                            element.parent().removeChild(element);
                        } else if (alias.was.isEmpty()) {
                            element.removeAttribute("name");
                        } else {
                            element.setAttribute("name", alias.was);
                        }
                    });
        } catch (IllegalArgumentException e) {
            // The schema already checked the address; nothing to revert otherwise.
        }
    }

    private void setOverride(String alias, Property edit) {
        Optional<XmlElement> userProperty = frontend(alias).flatMap(frontend -> frontend.childElements(QEMU_NAMESPACE, "property").stream()
                .filter(element -> edit.property().equals(element.attribute("name").orElse(""))).findFirst());
        if (userProperty.isPresent()) {
            conflict(edit, alias, userProperty.get().attribute("value").orElse(""));
            return;
        }
        XmlElement override = override().orElseGet(() -> {
            container(KIND_OVERRIDE, null);
            return root.appendChild(qemuElement(root, "override"));
        });
        XmlElement device = device(alias).orElseGet(() -> {
            container(KIND_DEVICE, alias);
            return override.appendChild(qemuElement(override, "device", "alias", alias));
        });
        XmlElement frontend = device.firstChild(QEMU_NAMESPACE, "frontend").orElseGet(() -> {
            container(KIND_FRONTEND, alias);
            return device.appendChild(qemuElement(device, "frontend"));
        });
        frontend.appendChild(qemuElement(frontend, "property", "name", edit.property(), "type", edit.type().xmlName(), "value", edit.value()));
        Item.Property item = new Item.Property();
        item.alias = alias;
        item.name = edit.property();
        record.add(item);
    }

    private void setCommandline(String alias, Property edit) {
        String prefix = "device." + alias + "." + edit.property() + "=";
        Optional<XmlElement> commandline = commandline();
        if (commandline.isPresent()) {
            for (XmlElement argument : commandline.get().childElements(QEMU_NAMESPACE, "arg")) {
                String value = argument.attribute("value").orElse("");
                if (value.startsWith(prefix)) {
                    conflict(edit, alias, value.substring(prefix.length()));
                    return;
                }
            }
        }
        XmlElement target = commandline.orElseGet(() -> {
            container(KIND_COMMANDLINE, null);
            return root.appendChild(qemuElement(root, "commandline"));
        });
        target.appendChild(qemuElement(target, "arg", "value", "-set"));
        target.appendChild(qemuElement(target, "arg", "value", prefix + edit.value()));
        Item.SetArgument item = new Item.SetArgument();
        item.alias = alias;
        item.name = edit.property();
        record.add(item);
    }

    /**
     * Adds {@code -fw_cfg name=NAME,string=VALUE}; a definition that gives the item itself keeps its value
     * (QEMU refuses the same name twice), with a warning when it differs.
     */
    void setFirmwareConfig(DomainEdit.SetFirmwareConfig edit) {
        Optional<XmlElement> commandline = commandline();
        if (commandline.isPresent()) {
            List<XmlElement> arguments = commandline.get().childElements(QEMU_NAMESPACE, "arg");
            for (int i = 1; i < arguments.size(); i++) {
                String value = arguments.get(i).attribute("value").orElse("");
                if (isFirmwareConfigOption(arguments.get(i - 1).attribute("value").orElse("")) && firmwareConfigName(value).filter(edit.name()::equals).isPresent()) {
                    if (!value.equals(firmwareConfigValue(edit.name(), edit.value()))) {
                        findings.add(Finding.warning("OVERRIDE-CONFLICT", edit.name(), "the definition already passes -fw_cfg " + value
                                + "; keeping the user's item instead of the planned string=" + edit.value()));
                    }
                    return;
                }
            }
        }
        XmlElement target = commandline.orElseGet(() -> {
            container(KIND_COMMANDLINE, null);
            return root.appendChild(qemuElement(root, "commandline"));
        });
        target.appendChild(qemuElement(target, "arg", "value", "-fw_cfg"));
        target.appendChild(qemuElement(target, "arg", "value", firmwareConfigValue(edit.name(), edit.value())));
        Item.FirmwareConfig item = new Item.FirmwareConfig();
        item.name = edit.name();
        item.value = edit.value();
        record.add(item);
    }

    private static String firmwareConfigValue(String name, String value) {
        return "name=" + name + ",string=" + value;
    }

    private static boolean isFirmwareConfigOption(String option) {
        return option.equals("-fw_cfg") || option.equals("--fw_cfg");
    }

    /** The item name of a -fw_cfg argument: {@code name=} is QEMU's implied first key, so it may be left out. */
    private static Optional<String> firmwareConfigName(String argument) {
        String first = argument.split(",", 2)[0];
        if (first.startsWith("name=")) {
            return Optional.of(first.substring("name=".length()));
        }
        return first.contains("=") ? Optional.empty() : Optional.of(first);
    }

    private void conflict(Property edit, String alias, String userValue) {
        findings.add(Finding.warning("OVERRIDE-CONFLICT", edit.subject(), "the definition already sets " + edit.property() + "=" + userValue
                + " on " + alias + "; keeping the user's value instead of the planned " + edit.value()));
    }

    private void container(String kind, String alias) {
        Item.Container item = new Item.Container();
        item.kind = kind;
        item.alias = alias;
        record.add(item);
    }

    private Optional<XmlElement> override() {
        return root.firstChild(QEMU_NAMESPACE, "override");
    }

    private Optional<XmlElement> device(String alias) {
        return override().flatMap(override -> override.childElements(QEMU_NAMESPACE, "device").stream()
                .filter(device -> alias.equals(device.attribute("alias").orElse(""))).findFirst());
    }

    private Optional<XmlElement> frontend(String alias) {
        return device(alias).flatMap(device -> device.firstChild(QEMU_NAMESPACE, "frontend"));
    }

    private Optional<XmlElement> commandline() {
        return root.firstChild(QEMU_NAMESPACE, "commandline");
    }

    /** Removes the first {@code OPTION VALUE} pair of {@code <qemu:arg>}s that {@code matches}. */
    private static void removeFirstPair(XmlElement commandline, java.util.function.BiPredicate<String, String> matches) {
        List<XmlElement> arguments = commandline.childElements(QEMU_NAMESPACE, "arg");
        for (int i = 1; i < arguments.size(); i++) {
            if (matches.test(arguments.get(i - 1).attribute("value").orElse(""), arguments.get(i).attribute("value").orElse(""))) {
                commandline.removeChild(arguments.get(i));
                commandline.removeChild(arguments.get(i - 1));
                return;
            }
        }
    }

    private static void removeIfEmpty(XmlElement element) {
        if (element.isEmptyOfContent() && element.parent() != null) {
            element.parent().removeChild(element);
        }
    }

    /**
     * A qemu: element using the prefix already bound in scope; when none is, the
     * element declares the namespace itself (libvirt moves it to the root on define).
     */
    private static XmlElement qemuElement(XmlElement scope, String localName, String... attributes) {
        Optional<String> prefix = scope.prefixFor(QEMU_NAMESPACE);
        if (prefix.isPresent()) {
            return XmlElement.create(prefix.get() + ":" + localName, attributes);
        }
        String[] withDeclaration = new String[attributes.length + 2];
        withDeclaration[0] = "xmlns:qemu";
        withDeclaration[1] = QEMU_NAMESPACE;
        System.arraycopy(attributes, 0, withDeclaration, 2, attributes.length);
        return XmlElement.create("qemu:" + localName, withDeclaration);
    }
}
