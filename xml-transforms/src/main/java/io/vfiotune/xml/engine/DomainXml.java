package io.vfiotune.xml.engine;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.GuestDeviceView;
import io.vfiotune.spi.GuestNumaCell;
import io.vfiotune.spi.GuestPciAddress;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.NumaMemnode;
import io.vfiotune.spi.PciControllerView;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.xml.tree.XmlElement;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;

/** The {@link DomainView} of a lossless tree; also finds the elements the engine edits. */
final class DomainXml implements DomainView {
    private final XmlElement domain;
    private final TuneAnnotations annotations;
    private final java.util.Map<String, String> previousMachineProperties;

    DomainXml(XmlElement domain, TuneAnnotations annotations) {
        this(domain, annotations, java.util.Map.of());
    }

    DomainXml(XmlElement domain, TuneAnnotations annotations, java.util.Map<String, String> previousMachineProperties) {
        this.domain = domain;
        this.annotations = annotations;
        this.previousMachineProperties = java.util.Map.copyOf(previousMachineProperties);
    }

    @Override
    public java.util.Map<String, String> previouslyGeneratedMachineProperties() {
        return previousMachineProperties;
    }

    @Override
    public String name() {
        return child(domain, "name").map(XmlElement::text).map(String::trim).orElse("");
    }

    @Override
    public Optional<String> architecture() {
        return osType().flatMap(type -> type.attribute("arch"));
    }

    @Override
    public Optional<String> machine() {
        return osType().flatMap(type -> type.attribute("machine"));
    }

    @Override
    public Optional<String> emulator() {
        return child(domain, "devices").flatMap(devices -> child(devices, "emulator")).map(XmlElement::text).map(String::trim);
    }

    @Override
    public List<HostdevView> pciHostdevs() {
        List<HostdevView> hostdevs = new ArrayList<>();
        for (XmlElement hostdev : hostdevElements()) {
            Optional<PciAddress> source = sourceAddress(hostdev);
            if (source.isEmpty()) {
                continue;
            }
            Optional<String> alias = child(hostdev, "alias").flatMap(element -> element.attribute("name"));
            Optional<HostdevView.Rom> rom = child(hostdev, "rom").map(element -> new HostdevView.Rom(element.attribute("bar"), element.attribute("file")));
            hostdevs.add(new HostdevView(source.get(), alias, "yes".equals(hostdev.attribute("managed").orElse("")), guestAddress(hostdev), rom));
        }
        return List.copyOf(hostdevs);
    }

    @Override
    public List<Integer> numaCells() {
        List<Integer> cells = new ArrayList<>();
        child(domain, "cpu").flatMap(cpu -> child(cpu, "numa")).ifPresent(numa -> {
            for (XmlElement cell : numa.childElements("", "cell")) {
                cell.attribute("id").ifPresent(id -> {
                    try {
                        cells.add(Integer.parseInt(id.trim()));
                    } catch (NumberFormatException e) {
                        // libvirt rejects such a cell itself
                    }
                });
            }
        });
        return List.copyOf(cells);
    }

    @Override
    public List<GuestNumaCell> numaCellDetails() {
        List<GuestNumaCell> cells = new ArrayList<>();
        child(domain, "cpu").flatMap(cpu -> child(cpu, "numa")).ifPresent(numa -> {
            for (XmlElement cell : numa.childElements("", "cell")) {
                int id = parseNumber(cell.attribute("id").orElse("").trim());
                if (id < 0) {
                    continue;
                }
                boolean cpus = !cell.attribute("cpus").orElse("").isBlank();
                cells.add(new GuestNumaCell(id, cpus, kibibytes(cell.attribute("memory").orElse("0").trim(), cell.attribute("unit").orElse("KiB").trim())));
            }
        });
        return List.copyOf(cells);
    }

    /** libvirt's scaled integers; an unparsable value reads as 0 (libvirt refuses it itself). */
    private static long kibibytes(String value, String unit) {
        java.math.BigInteger number;
        try {
            number = new java.math.BigInteger(value);
        } catch (NumberFormatException e) {
            return 0;
        }
        // libvirt's scaled integers: b/bytes, then k/KiB, KB, M/MiB, MB ... E/EiB, EB, case-insensitive
        String lower = unit.toLowerCase(java.util.Locale.ROOT);
        java.math.BigInteger bytes;
        if (lower.equals("b") || lower.equals("bytes")) {
            bytes = number;
        } else {
            int power = "kmgtpe".indexOf(lower.isEmpty() ? 'k' : lower.charAt(0)) + 1;
            boolean decimal = lower.length() == 2 && lower.charAt(1) == 'b';
            bytes = number.multiply(java.math.BigInteger.valueOf(decimal ? 1000 : 1024).pow(Math.max(power, 1)));
        }
        java.math.BigInteger kib = bytes.add(java.math.BigInteger.valueOf(1023)).divide(java.math.BigInteger.valueOf(1024));
        return kib.bitLength() > 62 ? Long.MAX_VALUE / 2 : kib.longValue();
    }

    @Override
    public java.util.OptionalLong pcieRootHole64KiB() {
        return pciControllerElements().stream().filter(controller -> "pcie-root".equals(controller.attribute("model").orElse("")))
                .flatMap(controller -> child(controller, "pcihole64").stream())
                .mapToLong(hole -> kibibytes(hole.text().trim(), hole.attribute("unit").orElse("KiB").trim())).findFirst();
    }

    @Override
    public List<String> qemuCommandlineArguments() {
        List<String> arguments = new ArrayList<>();
        for (XmlElement commandline : domain.childElements(QemuNamespaceEditor.QEMU_NAMESPACE, "commandline")) {
            commandline.childElements(QemuNamespaceEditor.QEMU_NAMESPACE, "arg").forEach(arg -> arguments.add(arg.attribute("value").orElse("")));
        }
        return List.copyOf(arguments);
    }

    @Override
    public Optional<String> acpiNodeset(PciAddress hostdev) {
        return hostdevElement(hostdev).flatMap(element -> child(element, "acpi")).flatMap(acpi -> acpi.attribute("nodeset")).map(String::trim);
    }

    @Override
    public List<NumaMemnode> numaMemnodes() {
        List<NumaMemnode> memnodes = new ArrayList<>();
        child(domain, "numatune").ifPresent(numatune -> {
            for (XmlElement memnode : numatune.childElements("", "memnode")) {
                Optional<String> nodeset = memnode.attribute("nodeset");
                int cell = memnode.attribute("cellid").map(String::trim).map(DomainXml::parseNumber).orElse(-1);
                if (nodeset.isPresent() && cell >= 0) {
                    memnodes.add(new NumaMemnode(cell, nodeset.get()));
                }
            }
        });
        return List.copyOf(memnodes);
    }

    @Override
    public List<PciControllerView> pciControllers() {
        List<PciControllerView> controllers = new ArrayList<>();
        for (XmlElement controller : pciControllerElements()) {
            int index = number(controller, "index");
            Optional<XmlElement> target = child(controller, "target");
            controllers.add(new PciControllerView(index, controller.attribute("model").orElse(""),
                    child(controller, "model").flatMap(model -> model.attribute("name")),
                    target.flatMap(element -> element.attribute("index")).map(DomainXml::parseNumber).filter(n -> n >= 0).map(OptionalInt::of).orElse(OptionalInt.empty()),
                    target.flatMap(element -> child(element, "node")).map(node -> parseNumber(node.text().trim())).filter(n -> n >= 0)
                            .map(OptionalInt::of).orElse(OptionalInt.empty()),
                    guestAddress(controller),
                    target.flatMap(element -> element.attribute("busNr")).map(String::trim).map(DomainXml::parseNumber).filter(n -> n >= 0)
                            .map(OptionalInt::of).orElse(OptionalInt.empty())));
        }
        return List.copyOf(controllers);
    }

    @Override
    public List<GuestDeviceView> guestPciDevices() {
        List<GuestDeviceView> devices = new ArrayList<>();
        for (XmlElement device : deviceElements()) {
            Optional<XmlElement> address = pciAddressElement(device);
            if (address.isEmpty()) {
                continue;
            }
            Optional<PciAddress> source = device.localName().equals("hostdev") ? sourceAddress(device) : Optional.empty();
            devices.add(new GuestDeviceView(device.localName(), child(device, "alias").flatMap(alias -> alias.attribute("name")),
                    guestAddressOf(address.get()), "on".equals(address.get().attribute("multifunction").orElse("")), source));
        }
        return List.copyOf(devices);
    }

    @Override
    public OptionalInt physicalAddressBits() {
        Optional<XmlElement> maxphysaddr = child(domain, "cpu").flatMap(cpu -> child(cpu, "maxphysaddr"));
        if (maxphysaddr.isEmpty() || !"emulate".equals(maxphysaddr.get().attribute("mode").orElse(""))) {
            return OptionalInt.empty();
        }
        int bits = parseNumber(maxphysaddr.get().attribute("bits").orElse("").trim());
        return bits > 0 ? OptionalInt.of(bits) : OptionalInt.empty();
    }

    @Override
    public boolean hostPhysicalAddressBits() {
        Optional<XmlElement> cpu = child(domain, "cpu");
        return cpu.flatMap(element -> element.attribute("mode")).filter("host-passthrough"::equals).isPresent()
                || cpu.flatMap(element -> child(element, "maxphysaddr")).flatMap(element -> element.attribute("mode")).filter("passthrough"::equals).isPresent();
    }

    @Override
    public Optional<Boolean> cpuGigabytePages() {
        Optional<XmlElement> cpu = child(domain, "cpu");
        if (cpu.isEmpty()) {
            return Optional.of(false);
        }
        for (XmlElement feature : cpu.get().childElements("", "feature")) {
            if ("pdpe1gb".equals(feature.attribute("name").orElse(""))) {
                String policy = feature.attribute("policy").orElse("require");
                if (policy.equals("require") || policy.equals("force")) {
                    return Optional.of(true);
                }
                if (policy.equals("disable") || policy.equals("forbid")) {
                    return Optional.of(false);
                }
            }
        }
        String mode = cpu.get().attribute("mode").orElse("custom");
        if (mode.equals("host-passthrough") || mode.equals("maximum") || mode.equals("host-model")) {
            return Optional.of(true);
        }
        // a custom CPU without a model is QEMU's default (qemu64), which has no 1 GiB pages
        return child(cpu.get(), "model").isPresent() ? Optional.empty() : Optional.of(false);
    }

    @Override
    public List<String> videoModels() {
        return videoElements().stream().map(video -> child(video, "model").flatMap(model -> model.attribute("type")).orElse("default")).toList();
    }

    @Override
    public boolean uefiFirmware() {
        Optional<XmlElement> os = child(domain, "os");
        Optional<String> firmware = os.flatMap(element -> element.attribute("firmware"));
        if (firmware.isPresent()) {
            return firmware.get().equals("efi");
        }
        return os.flatMap(element -> child(element, "loader")).filter(loader -> !isBiosImage(loader)).isPresent();
    }

    /**
     * A {@code <loader>} is OVMF unless it is a ROM image of SeaBIOS or qboot,
     * the BIOSes QEMU ships (bios-256k.bin, qboot.rom); UEFI is the safer guess
     * for anything else, since legacy IGD must never be planned for OVMF.
     */
    private static boolean isBiosImage(XmlElement loader) {
        if (loader.attribute("type").orElse("rom").equals("pflash")) {
            return false;
        }
        String path = loader.text().trim().toLowerCase(Locale.ROOT);
        String file = path.substring(path.lastIndexOf('/') + 1);
        boolean efi = file.contains("efi") || file.contains("ovmf") || file.contains("edk2") || file.endsWith(".fd");
        return !efi && (file.contains("bios") || file.contains("qboot"));
    }

    @Override
    public TuneAnnotations annotations() {
        return annotations;
    }

    XmlElement domainElement() {
        return domain;
    }

    /** The {@code <hostdev>} element whose source is {@code host}. */
    Optional<XmlElement> hostdevElement(PciAddress host) {
        return hostdevElements().stream().filter(hostdev -> sourceAddress(hostdev).filter(host::equals).isPresent()).findFirst();
    }

    /** Every element under {@code <devices>}. */
    List<XmlElement> deviceElements() {
        return child(domain, "devices").map(XmlElement::childElements).orElse(List.of());
    }

    List<XmlElement> pciControllerElements() {
        return deviceElements().stream().filter(device -> device.localName().equals("controller") && "pci".equals(device.attribute("type").orElse(""))).toList();
    }

    List<XmlElement> videoElements() {
        return deviceElements().stream().filter(device -> device.localName().equals("video")).toList();
    }

    /** The device's own {@code <address type='pci'>}, not one inside its {@code <source>}. */
    static Optional<XmlElement> pciAddressElement(XmlElement device) {
        return child(device, "address").filter(address -> "pci".equals(address.attribute("type").orElse("")));
    }

    private static Optional<GuestPciAddress> guestAddress(XmlElement device) {
        return pciAddressElement(device).map(DomainXml::guestAddressOf);
    }

    static GuestPciAddress guestAddressOf(XmlElement address) {
        return new GuestPciAddress(number(address, "domain"), number(address, "bus"), number(address, "slot"), number(address, "function"));
    }

    private List<XmlElement> hostdevElements() {
        return child(domain, "devices").map(devices -> devices.childElements("", "hostdev").stream()
                .filter(hostdev -> "subsystem".equals(hostdev.attribute("mode").orElse("subsystem")) && "pci".equals(hostdev.attribute("type").orElse("")))
                .toList()).orElse(List.of());
    }

    private static Optional<PciAddress> sourceAddress(XmlElement hostdev) {
        return child(hostdev, "source").flatMap(source -> child(source, "address")).flatMap(address -> {
            try {
                return Optional.of(new PciAddress(number(address, "domain"), number(address, "bus"), number(address, "slot"), number(address, "function")));
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
        });
    }

    private Optional<XmlElement> osType() {
        return child(domain, "os").flatMap(os -> child(os, "type"));
    }

    static Optional<XmlElement> child(XmlElement parent, String localName) {
        return parent.firstChild("", localName);
    }

    /** libvirt accepts hex with 0x and plain decimal for address parts; an absent domain means 0. */
    private static int number(XmlElement address, String attribute) {
        return parseNumber(address.attribute(attribute).orElse("0").trim());
    }

    private static int parseNumber(String text) {
        try {
            return text.startsWith("0x") || text.startsWith("0X") ? Integer.parseInt(text.substring(2), 16) : Integer.parseInt(text);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
