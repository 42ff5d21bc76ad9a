package io.vfiotune.guest;

import java.io.ByteArrayInputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

import io.vfiotune.pci.PciBar;

/**
 * A planned domain (a vfio-tune output) made bootable on a machine without the
 * planned host devices: every PCI {@code <hostdev>} becomes a virtio-rng
 * stand-in at the same guest address with the same alias, and what needs real
 * hardware or names host resources goes. Every controller, guest address and
 * NUMA cell of the plan stays: they are what the boot checks.
 * {@link #fromPlanWithBars} makes pci-testdevs with the host's 64-bit BAR sizes
 * instead, and boots through the plan's firmware; so does an aarch64 plan with ACPI,
 * whose SRAT is what its NUMA nodes come from.
 */
public final class GuestDomain {
    static final String QEMU_NAMESPACE = "http://libvirt.org/schemas/domain/qemu/1.0";
    static final String VFIO_TUNE_NAMESPACE = "urn:vfio-tune:1";

    /** Host resources a TCG guest on another machine cannot have: pinning, host NUMA binding, huge pages. */
    private static final Set<String> HOST_BOUND_ELEMENTS = Set.of("cputune", "numatune", "memoryBacking");
    /**
     * Devices that need host files or hardware and hold no planned PCI layout the
     * boot checks (disks and NICs would need images and networks; graphics may want
     * a render node). Video, controllers, memballoon and the like stay: they hold guest addresses.
     */
    private static final Set<String> DROPPED_DEVICES = Set.of("disk", "filesystem", "interface", "redirdev", "smartcard", "tpm", "graphics", "serial", "console");

    private final Document document;
    private final List<StandIn> standIns;
    private final List<BarStandIn> barStandIns;
    /** Whether the guest boots through the plan's firmware loader (pflash) instead of QEMU's default BIOS. */
    private final boolean keepsFirmware;

    private GuestDomain(Document document, List<StandIn> standIns, List<BarStandIn> barStandIns, boolean keepsFirmware) {
        this.document = document;
        this.standIns = List.copyOf(standIns);
        this.barStandIns = List.copyOf(barStandIns);
        this.keepsFirmware = keepsFirmware;
    }

    /** Replaces the host devices by stand-ins and drops what a booted stand-in guest cannot have. */
    public static GuestDomain fromPlan(String plannedXml) {
        return fromPlan(plannedXml, null);
    }

    /**
     * Like {@link #fromPlan(String)}, for checks of the guest's 64-bit MMIO window:
     * every planned host function becomes a {@code pci-testdev} (through
     * {@code <qemu:commandline>}, libvirt has no element for it) at its planned
     * address, whose BAR 2 is a 64-bit prefetchable BAR of the size of the host
     * function's largest 64-bit prefetchable BAR, without guest RAM behind it. A
     * pci-testdev has one such BAR, so each further 64-bit prefetchable BAR of the
     * host function gets a pci-testdev of its own at a function number of the same
     * slot the plan leaves free: behind each planned port the guest then has the
     * host's BAR sizes exactly, which is what the firmware packs into bridge windows
     * (a sum rounded up to a power of two would double a 64 GiB + 32 MiB GPU).
     * The plan's firmware loader stays ({@link #bootable}): the window is the firmware's.
     *
     * @param pref64Bars the 64-bit prefetchable BARs of a host function, by host address
     */
    public static GuestDomain fromPlanWithBars(String plannedXml, Function<String, List<PciBar>> pref64Bars) {
        return fromPlan(plannedXml, pref64Bars);
    }

    private static GuestDomain fromPlan(String plannedXml, Function<String, List<PciBar>> pref64Bars) {
        Document document = parse(plannedXml);
        Element domain = document.getDocumentElement();
        if (!domain.getLocalName().equals("domain")) {
            throw new IllegalArgumentException("not a libvirt domain: <" + domain.getLocalName() + ">");
        }
        Element devices = child(domain, "devices").orElseThrow(() -> new IllegalArgumentException("the domain has no <devices>"));
        List<StandIn> standIns = new ArrayList<>();
        for (Element hostdev : children(devices, "hostdev")) {
            if (hostdev.getAttribute("type").equals("pci")) {
                if (pref64Bars == null) {
                    standIns.add(replaceByStandIn(hostdev));
                } else {
                    standIns.add(standIn(hostdev));
                    devices.removeChild(hostdev);
                }
            } else {
                devices.removeChild(hostdev);
            }
        }
        for (Element device : children(devices, null)) {
            if (DROPPED_DEVICES.contains(device.getLocalName())) {
                devices.removeChild(device);
            }
        }
        for (Element element : children(domain, null)) {
            if (HOST_BOUND_ELEMENTS.contains(element.getLocalName())) {
                domain.removeChild(element);
            }
        }
        String architecture = child(domain, "os").flatMap(os -> child(os, "type")).map(type -> type.getAttribute("arch")).orElse("");
        child(domain, "cpu").ifPresent(cpu -> emulatedCpu(cpu, architecture));
        child(domain, "metadata").ifPresent(GuestDomain::dropVfioTuneMetadata);
        dropPropertyOverrides(domain);
        if (pref64Bars == null) {
            return new GuestDomain(document, standIns, List.of(), needsFirmware(domain, architecture));
        }
        List<BarStandIn> testdevs = barStandIns(standIns, pref64Bars);
        // The pci-testdevs are no libvirt devices, so libvirt sees the planned ports empty and would put the
        // USB controller and memory balloon it adds by default there, where QEMU then has no room for them.
        // Without such defaults it adds nothing (their only 64-bit BAR, the balloon's 16 KiB, is no window matter).
        if (children(devices, "controller").stream().noneMatch(controller -> controller.getAttribute("type").equals("usb"))) {
            Element usb = element(document, "controller");
            usb.setAttribute("type", "usb");
            usb.setAttribute("model", "none");
            devices.appendChild(usb);
        }
        if (children(devices, "memballoon").isEmpty()) {
            Element balloon = element(document, "memballoon");
            balloon.setAttribute("model", "none");
            devices.appendChild(balloon);
        }
        Element commandline = children(domain, "commandline").stream().filter(element -> QEMU_NAMESPACE.equals(element.getNamespaceURI())).findFirst().orElseGet(() -> {
            Element created = document.createElementNS(QEMU_NAMESPACE, "qemu:commandline");
            created.setAttributeNS(XMLConstants.XMLNS_ATTRIBUTE_NS_URI, "xmlns:qemu", QEMU_NAMESPACE);
            return (Element) domain.appendChild(created);
        });
        String prefix = commandline.getPrefix() == null ? "" : commandline.getPrefix() + ":";
        for (BarStandIn testdev : testdevs) {
            for (String value : List.of("-device", testdev.qemuDevice())) {
                Element argument = document.createElementNS(QEMU_NAMESPACE, prefix + "arg");
                argument.setAttribute("value", value);
                commandline.appendChild(argument);
            }
        }
        return new GuestDomain(document, standIns, testdevs, true);
    }

    /** The pci-testdevs for the host functions, in QEMU's creation order: by bus, slot and function. */
    private static List<BarStandIn> barStandIns(List<StandIn> standIns, Function<String, List<PciBar>> pref64Bars) {
        Map<List<Integer>, TreeSet<Integer>> usedFunctions = new TreeMap<>(Comparator.<List<Integer>, Integer>comparing(slot -> slot.get(0)).thenComparing(slot -> slot.get(1))
                .thenComparing(slot -> slot.get(2)));
        for (StandIn standIn : standIns) {
            StandIn.PlannedAddress planned = standIn.guestAddress().orElseThrow(() -> new IllegalArgumentException("a BAR stand-in needs a planned address: " + standIn));
            usedFunctions.computeIfAbsent(List.of(planned.domain(), planned.bus(), planned.slot()), slot -> new TreeSet<>()).add(planned.function());
        }
        List<BarStandIn> testdevs = new ArrayList<>();
        for (StandIn standIn : standIns) {
            StandIn.PlannedAddress planned = standIn.guestAddress().orElseThrow();
            if (planned.domain() != 0) {
                throw new IllegalArgumentException("pci-testdev stand-ins only on PCI domain 0: " + standIn);
            }
            List<PciBar> bars = pref64Bars.apply(standIn.hostAddress()).stream().sorted(Comparator.comparingLong(PciBar::size).reversed()).toList();
            TreeSet<Integer> used = usedFunctions.get(List.of(planned.domain(), planned.bus(), planned.slot()));
            for (int i = 0; i < Math.max(1, bars.size()); i++) {
                Optional<PciBar> bar = i < bars.size() ? Optional.of(bars.get(i)) : Optional.empty();
                int function = planned.function();
                if (i > 0) {
                    function = 0;
                    while (used.contains(function)) {
                        function++;
                    }
                    if (function > 7) {
                        throw new IllegalArgumentException("no free function in the slot of " + standIn + " for its BAR " + bar.orElseThrow().index());
                    }
                    used.add(function);
                }
                testdevs.add(new BarStandIn(standIn, bar, new StandIn.PlannedAddress(planned.domain(), planned.bus(), planned.slot(), function, false)));
            }
        }
        List<BarStandIn> ordered = new ArrayList<>();
        testdevs.stream().sorted(Comparator.comparing((BarStandIn testdev) -> testdev.guestAddress().bus()).thenComparing(testdev -> testdev.guestAddress().slot())
                .thenComparing(testdev -> testdev.guestAddress().function())).forEach(testdev -> {
                    StandIn.PlannedAddress address = testdev.guestAddress();
                    boolean multifunction = address.function() == 0 && usedFunctions.get(List.of(address.domain(), address.bus(), address.slot())).size() > 1;
                    ordered.add(new BarStandIn(testdev.standIn(), testdev.bar(),
                            new StandIn.PlannedAddress(address.domain(), address.bus(), address.slot(), address.function(), multifunction)));
                });
        return ordered;
    }

    /** Whether a NUMA cell without vCPUs comes before a cell with vCPUs (see {@link #moveVcpusToFirstCell}). */
    public boolean hasVcpusAfterCpulessCell() {
        boolean cpuless = false;
        for (Element cell : numaCells()) {
            if (cell.getAttribute("cpus").isBlank()) {
                cpuless = true;
            } else if (cpuless) {
                return true;
            }
        }
        return false;
    }

    /**
     * Puts every vCPU into NUMA cell 0 and leaves the other cells memory-only; their
     * ids, memory and distances stay, so the guest still has every planned node for
     * devices to sit on. For libvirt 9.0, which segfaults starting a domain whose
     * vCPU is in a cell after a CPU-less cell (a NULL cell cpumask reaches
     * virBitmapIsBitSet), and would take the machine's shared libvirtd with it.
     *
     * @return what changed, for the test output
     */
    /**
     * One vCPU, in the first cell when there are cells: what the boot checks (PCI
     * layout, NUMA nodes) does not depend on the vCPU count, and QEMU 10.0's
     * multi-threaded TCG aborted in {@code iotlb_to_section} while a many-vCPU
     * stand-in guest programmed its BARs (the DGX guest, twice in five full runs).
     *
     * @return what changed, for the test output; empty when the guest had one vCPU already
     */
    public Optional<String> singleVcpu() {
        Element domain = document.getDocumentElement();
        Element vcpu = child(domain, "vcpu").orElseThrow(() -> new IllegalArgumentException("the domain has no <vcpu>"));
        String planned = vcpu.getTextContent().strip();
        if (planned.equals("1")) {
            return Optional.empty();
        }
        vcpu.setTextContent("1");
        child(domain, "cpu").flatMap(cpu -> child(cpu, "topology")).ifPresent(topology -> topology.getParentNode().removeChild(topology));
        String cells = numaCells().isEmpty() ? "" : "; " + moveVcpusToFirstCell();
        return Optional.of("1 vCPU instead of " + planned + cells);
    }

    public String moveVcpusToFirstCell() {
        Element domain = document.getDocumentElement();
        int vcpus = Integer.parseInt(child(domain, "vcpu").orElseThrow(() -> new IllegalArgumentException("the domain has no <vcpu>")).getTextContent().strip());
        List<Element> cells = numaCells();
        StringBuilder before = new StringBuilder();
        for (Element cell : cells) {
            before.append(before.length() == 0 ? "" : ", ").append("cell ").append(cell.getAttribute("id")).append(" cpus '").append(cell.getAttribute("cpus")).append("'");
            cell.removeAttribute("cpus");
        }
        String all = vcpus == 1 ? "0" : "0-" + (vcpus - 1);
        cells.get(0).setAttribute("cpus", all);
        return "vCPUs " + all + " moved into NUMA cell " + cells.get(0).getAttribute("id") + " (the plan had " + before + ")";
    }

    public List<StandIn> standIns() {
        return standIns;
    }

    /** The pci-testdevs of {@link #fromPlanWithBars}; empty for the virtio-rng stand-ins of {@link #fromPlan(String)}. */
    public List<BarStandIn> barStandIns() {
        return barStandIns;
    }

    /**
     * Whether {@link #bootable} keeps the plan's {@code <loader>} (and gives it NVRAM): for
     * {@link #fromPlanWithBars}, and for an aarch64 plan with ACPI (see {@link #needsFirmware}).
     */
    public boolean keepsFirmware() {
        return keepsFirmware;
    }

    /** The plan's domain name. */
    public String plannedName() {
        return child(document.getDocumentElement(), "name").map(element -> element.getTextContent().strip()).orElse("domain");
    }

    /** The libvirt architecture, {@code <os><type arch>}. */
    public String architecture() {
        return osType().getAttribute("arch");
    }

    public String machine() {
        return osType().getAttribute("machine");
    }

    /** The kernel's name for the console the domain's first serial port becomes. */
    public String consoleDevice() {
        String arch = architecture();
        String machine = machine();
        if (arch.equals("x86_64")) {
            return "ttyS0";
        }
        if (arch.equals("aarch64") && machine.startsWith("virt")) {
            return "ttyAMA0";
        }
        if (arch.startsWith("ppc64") && machine.startsWith("pseries")) {
            return "hvc0";
        }
        throw new IllegalArgumentException("no booted-guest console for arch '" + arch + "' machine '" + machine + "'");
    }

    /**
     * The domain as the stack boots it: TCG, a fresh name and UUID, the guest
     * kernel and initramfs (paths as the stack sees them), the console to a file,
     * and every way the guest ends (power off, reboot, crash) destroying it, so a
     * transient domain disappears when the guest is done or dead.
     */
    public String bootable(String name, String uuid, String kernel, String initrd, String consoleLog) {
        Document copy = (Document) document.cloneNode(true);
        Element domain = copy.getDocumentElement();
        domain.setAttribute("type", "qemu");
        domain.removeAttribute("id");
        setText(domain, "name", name, null);
        setText(domain, "uuid", uuid, child(domain, "name").orElseThrow());

        Element os = child(domain, "os").orElseThrow();
        if (!keepsFirmware) {
            os.removeAttribute("firmware");
        }
        // Direct kernel boot: firmware loaders, NVRAM and boot orders would only slow the boot down,
        // unless the firmware is what the boot checks (it loads the kernel through fw_cfg then).
        Set<String> kept = keepsFirmware ? Set.of("type", "loader", "nvram", "firmware") : Set.of("type");
        for (Element element : children(os, null)) {
            if (!kept.contains(element.getLocalName())) {
                os.removeChild(element);
            }
        }
        Optional<Element> loader = child(os, "loader");
        if (keepsFirmware && loader.isPresent() && loader.get().getAttribute("type").equals("pflash") && child(os, "nvram").isEmpty()) {
            // libvirt copies the variable store from the template to /var/lib/libvirt/qemu/nvram/NAME_VARS.fd at start.
            String code = loader.get().getTextContent().strip();
            if (code.endsWith("/OVMF_CODE_4M.fd") || code.endsWith("/OVMF_CODE.fd") || code.endsWith("/AAVMF_CODE.fd")) {
                Element nvram = element(copy, "nvram");
                nvram.setAttribute("template", code.replace("/OVMF_CODE", "/OVMF_VARS").replace("/AAVMF_CODE", "/AAVMF_VARS"));
                os.insertBefore(nvram, loader.get().getNextSibling());
            }
        }
        appendText(os, "kernel", kernel);
        appendText(os, "initrd", initrd);
        // panic=-1: a guest kernel that panics reboots at once, which destroys the domain (on_reboot), instead of hanging until the time limit.
        appendText(os, "cmdline", "console=" + consoleDevice() + " panic=-1 quiet");

        if (architecture().equals("x86_64")) {
            // Without ACPI an x86 guest cannot power itself off, and its kernel sees no NUMA nodes (no SRAT).
            Element features = child(domain, "features").orElseGet(() -> (Element) domain.insertBefore(element(copy, "features"), os.getNextSibling()));
            if (child(features, "acpi").isEmpty()) {
                features.appendChild(element(copy, "acpi"));
            }
        }

        Element devices = child(domain, "devices").orElseThrow();
        for (String event : List.of("on_poweroff", "on_reboot", "on_crash")) {
            child(domain, event).ifPresent(domain::removeChild);
            Element action = element(copy, event);
            action.setTextContent("destroy");
            domain.insertBefore(action, devices);
        }

        Element serial = element(copy, "serial");
        serial.setAttribute("type", "file");
        Element source = element(copy, "source");
        source.setAttribute("path", consoleLog);
        serial.appendChild(source);
        devices.appendChild(serial);
        return serialize(copy);
    }

    /** The stand-in record of a PCI hostdev: host address, alias and planned guest address. */
    private static StandIn standIn(Element hostdev) {
        String hostAddress = child(hostdev, "source").flatMap(source -> child(source, "address")).map(GuestDomain::hostAddress)
                .orElseThrow(() -> new IllegalArgumentException("a PCI <hostdev> without <source><address>"));
        return new StandIn(hostAddress, child(hostdev, "alias").map(element -> element.getAttribute("name")), child(hostdev, "address")
                .filter(element -> element.getAttribute("type").equals("pci")).map(element -> new StandIn.PlannedAddress(number(element, "domain"), number(element, "bus"),
                        number(element, "slot"), number(element, "function"), element.getAttribute("multifunction").equals("on"))));
    }

    private static StandIn replaceByStandIn(Element hostdev) {
        Document document = hostdev.getOwnerDocument();
        String hostAddress = child(hostdev, "source").flatMap(source -> child(source, "address")).map(GuestDomain::hostAddress)
                .orElseThrow(() -> new IllegalArgumentException("a PCI <hostdev> without <source><address>"));
        Optional<Element> alias = child(hostdev, "alias");
        Optional<Element> address = child(hostdev, "address");

        // virtio-rng: a plain PCI function libvirt takes any number of, on any PCI bus. The builtin
        // backend (QEMU's own getrandom) opens no host file, so libvirt relabels nothing in /dev.
        Element rng = element(document, "rng");
        rng.setAttribute("model", "virtio");
        Element backend = element(document, "backend");
        backend.setAttribute("model", "builtin");
        rng.appendChild(backend);
        alias.ifPresent(element -> rng.appendChild(element.cloneNode(true)));
        address.ifPresent(element -> rng.appendChild(element.cloneNode(true)));
        hostdev.getParentNode().replaceChild(rng, hostdev);

        return new StandIn(hostAddress, alias.map(element -> element.getAttribute("name")), address.filter(element -> element.getAttribute("type").equals("pci"))
                .map(element -> new StandIn.PlannedAddress(number(element, "domain"), number(element, "bus"), number(element, "slot"), number(element, "function"),
                        element.getAttribute("multifunction").equals("on"))));
    }

    /**
     * TCG has no host CPU to pass through; the CPU model goes, the topology and NUMA cells stay.
     * An aarch64 guest gets {@code mode='maximum'} ({@code -cpu max}) instead: without a model
     * libvirt gives TCG a 32-bit cortex-a15, which neither AAVMF nor an arm64 kernel runs on, and
     * libvirt refuses host-passthrough for an aarch64 TCG guest on an x86_64 host.
     */
    private static void emulatedCpu(Element cpu, String architecture) {
        String mode = cpu.getAttribute("mode");
        if (architecture.equals("aarch64") && (mode.isEmpty() || mode.equals("custom")) && child(cpu, "model").isEmpty()) {
            // No model named: libvirt would give TCG the 32-bit cortex-a15 (see above).
            cpu.setAttribute("mode", "maximum");
        } else if (mode.startsWith("host")) {
            cpu.removeAttribute("mode");
            cpu.removeAttribute("check");
            cpu.removeAttribute("migratable");
            for (Element element : children(cpu, null)) {
                if (Set.of("model", "feature", "cache").contains(element.getLocalName())) {
                    cpu.removeChild(element);
                }
            }
            if (architecture.equals("aarch64")) {
                cpu.setAttribute("mode", "maximum");
            }
        }
    }

    /**
     * Whether the stand-in guest must boot through the plan's firmware even with virtio-rng
     * stand-ins: an aarch64 guest with {@code <acpi/>} and a {@code <loader>}, because libvirt
     * refuses ACPI without UEFI on aarch64, and the ACPI tables (SRAT: NUMA nodes, Generic
     * Initiators) are what such a plan is about; without firmware the kernel reads a device tree.
     */
    private static boolean needsFirmware(Element domain, String architecture) {
        boolean acpi = child(domain, "features").flatMap(features -> child(features, "acpi")).isPresent();
        boolean loader = child(domain, "os").flatMap(os -> child(os, "loader")).isPresent();
        return architecture.equals("aarch64") && acpi && loader;
    }

    /** An installed vfio-tune hook must see a plain domain: the stand-ins are no host devices to plan for. */
    private static void dropVfioTuneMetadata(Element metadata) {
        for (Element element : children(metadata, null)) {
            if (VFIO_TUNE_NAMESPACE.equals(element.getNamespaceURI())) {
                metadata.removeChild(element);
            }
        }
    }

    /**
     * vfio-pci properties do not exist on the stand-ins, so QEMU would refuse them:
     * every {@code <qemu:override>} and every {@code -set device.ALIAS.PROPERTY=VALUE}
     * pair of {@code <qemu:commandline>} goes (other tests check them). Other
     * command-line arguments stay.
     */
    private static void dropPropertyOverrides(Element domain) {
        for (Element override : children(domain, "override")) {
            if (QEMU_NAMESPACE.equals(override.getNamespaceURI())) {
                domain.removeChild(override);
            }
        }
        for (Element commandline : children(domain, "commandline")) {
            if (!QEMU_NAMESPACE.equals(commandline.getNamespaceURI())) {
                continue;
            }
            List<Element> arguments = children(commandline, "arg");
            for (int i = 0; i + 1 < arguments.size(); i++) {
                if (arguments.get(i).getAttribute("value").equals("-set") && arguments.get(i + 1).getAttribute("value").startsWith("device.")) {
                    commandline.removeChild(arguments.get(i));
                    commandline.removeChild(arguments.get(i + 1));
                    i++;
                }
            }
            if (children(commandline, null).isEmpty()) {
                domain.removeChild(commandline);
            }
        }
    }

    private List<Element> numaCells() {
        return child(document.getDocumentElement(), "cpu").flatMap(cpu -> child(cpu, "numa")).map(numa -> children(numa, "cell")).orElse(List.of());
    }

    private Element osType() {
        Element domain = document.getDocumentElement();
        return child(domain, "os").flatMap(os -> child(os, "type")).orElseThrow(() -> new IllegalArgumentException("the domain has no <os><type>"));
    }

    private static String hostAddress(Element address) {
        return String.format("%04x:%02x:%02x.%x", number(address, "domain"), number(address, "bus"), number(address, "slot"), number(address, "function"));
    }

    private static int number(Element element, String attribute) {
        String value = element.getAttribute(attribute);
        return value.isEmpty() ? 0 : Integer.decode(value);
    }

    private static void setText(Element parent, String name, String text, Element after) {
        Element element = child(parent, name).orElseGet(() -> (Element) parent.insertBefore(element(parent.getOwnerDocument(), name), after == null ? parent.getFirstChild() : after.getNextSibling()));
        element.setTextContent(text);
    }

    private static void appendText(Element parent, String name, String text) {
        Element element = element(parent.getOwnerDocument(), name);
        element.setTextContent(text);
        parent.appendChild(element);
    }

    /** A libvirt element: the domain's own elements have no namespace. */
    private static Element element(Document document, String name) {
        return document.createElementNS(null, name);
    }

    static Optional<Element> child(Element parent, String localName) {
        return children(parent, localName).stream().findFirst();
    }

    /** The element children named {@code localName} (any namespace), or all of them for null; a copy, safe to remove from. */
    static List<Element> children(Element parent, String localName) {
        List<Element> elements = new ArrayList<>();
        for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node instanceof Element element && (localName == null || localName.equals(element.getLocalName()))) {
                elements.add(element);
            }
        }
        return elements;
    }

    static Document parse(String xml) {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setNamespaceAware(true);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            return factory.newDocumentBuilder().parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot parse the domain XML: " + e.getMessage(), e);
        }
    }

    static String serialize(Document document) {
        try {
            StringWriter text = new StringWriter();
            var transformer = TransformerFactory.newInstance().newTransformer();
            transformer.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
            transformer.transform(new DOMSource(document), new StreamResult(text));
            return text.toString();
        } catch (Exception e) {
            throw new IllegalStateException("cannot write the domain XML", e);
        }
    }
}
