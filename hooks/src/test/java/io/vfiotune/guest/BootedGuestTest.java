package io.vfiotune.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.Libvirt;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.stack.Stack;
import io.vfiotune.stack.Stacks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.w3c.dom.Element;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Planned outputs booted for real on both stacks: the host devices become virtio-rng
 * stand-ins at the planned guest addresses, and the guest kernel's own view of the
 * PCI tree and NUMA nodes must be the plan's. Expectations come from the planned XML
 * (and, for IOMMU groups, the host fixture the plan was made for), never from the guest.
 */
class BootedGuestTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    /** QEMU's spapr PHB with index N has BUID 0x800000020000000 + N, its device tree node is pci@BUID. */
    private static final long SPAPR_PCI_BASE_BUID = 0x800000020000000L;
    private static final String VIRTIO_VENDOR = "0x1af4";
    /** virtio-rng: transitional (0x1005) on conventional PCI, modern (0x1044) behind a PCIe port. */
    private static final Set<String> VIRTIO_RNG_DEVICES = Set.of("0x1005", "0x1044");

    @TempDir
    Path work;

    /** Every stack of the run (both, unless -Dvfio-tune.stacks names one). */
    static Stream<Stack> stacks() {
        return Stacks.all().stream();
    }

    /**
     * The sPAPR plans booted on every stack: the issue's two-group case, whose PHBs get no
     * {@code <node>} (no numatune says which guest cell host nodes 0 and 8 are), and the
     * numatune case, whose first PHB gets the cell {@code <memnode>} binds.
     */
    static Stream<Arguments> spaprCases() {
        return stacks().flatMap(stack -> Stream.of("spapr-two-groups-numa-cells", "spapr-numatune-memnode-cells", "spapr-user-phb-default-target-index")
                .map(name -> Arguments.of(stack, name)));
    }

    /** IGD plans booted on every stack: universal passthrough on q35, and legacy placement on i440fx. */
    static Stream<Arguments> igdCases() {
        return stacks().flatMap(stack -> Stream.of("igd-q35-auto-upt-qemu92", "igd-i440fx-legacy-qemu100").map(name -> Arguments.of(stack, name)));
    }

    /**
     * One spapr PHB per IOMMU group: the guest must see each planned PHB as a PCI
     * domain of its own, every stand-in of a group directly on its group's PHB at
     * the planned slot, with the NUMA node the plan gave that PHB.
     */
    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("spaprCases")
    void spaprPhbPerIommuGroupWithItsNumaNode(Stack stack, String goldenCase) throws IOException {
        Path golden = ROOT.resolve("src/golden").resolve(goldenCase);
        String plan = Files.readString(golden.resolve("expected.xml"));
        Map<Integer, PlannedPhb> phbs = plannedPhbs(plan);
        assertEquals(2, phbs.size(), "the case plans two extra PHBs: " + phbs);
        Map<String, String> groups = iommuGroups(golden);

        BootedGuest.Boot boot = BootedGuest.boot(stack, plan);
        GuestReport guest = boot.report();
        print(boot);

        // Each planned PHB (controller index) → the guest's PCI domain behind its device tree node.
        Map<Integer, String> guestDomainByController = new TreeMap<>();
        for (PlannedPhb phb : phbs.values()) {
            guestDomainByController.put(phb.controllerIndex(), rootBusOf(guest, phb.targetIndex()).domain());
        }
        String defaultDomain = rootBusOf(guest, 0).domain();
        Set<String> domains = new TreeSet<>(guestDomainByController.values());
        domains.add(defaultDomain);
        assertEquals(phbs.size() + 1, domains.size(), "every PHB is a PCI domain of its own: " + guestDomainByController + ", default PHB " + defaultDomain);
        // A user PHB without <target index> (libvirt picks one) still becomes a host bridge of its own.
        assertEquals(spaprControllers(plan) + 1, guest.buses().stream().filter(GuestReport.Bus::isRoot).count(), "one root bus per PHB:\n" + guest.render());

        Map<String, Set<String>> guestDomainsByGroup = new TreeMap<>();
        for (StandIn standIn : boot.standIns()) {
            StandIn.PlannedAddress planned = standIn.guestAddress().orElseThrow(() -> new AssertionError("the plan left " + standIn.hostAddress() + " unplaced"));
            PlannedPhb phb = phbs.get(planned.bus());
            assertTrue(phb != null, standIn.hostAddress() + " is planned on controller " + planned.bus() + ", which is no planned PHB");
            String domain = guestDomainByController.get(planned.bus());
            GuestReport.Device device = standInAt(guest, String.format("%s:00:%02x.%x", domain, planned.slot(), planned.function()), standIn);
            assertEquals("pci" + domain + ":00", device.hostBridge(), standIn + " hangs under its PHB's host bridge");
            assertEquals(0, device.bridgesAbove(), standIn + " sits directly on the PHB's root bus: " + device.path());
            // A PHB without <node> has no ibm,associativity, so Linux puts its devices on no node (-1).
            assertEquals(phb.node().isPresent() ? String.valueOf(phb.node().getAsInt()) : "-1", device.numaNode(),
                    standIn + " has the NUMA node the plan gave PHB " + phb.targetIndex() + " (" + phb.node() + ")");
            guestDomainsByGroup.computeIfAbsent(groups.get(standIn.hostAddress()), group -> new TreeSet<>()).add(domain);
        }
        assertEquals(Set.of("5", "10"), guestDomainsByGroup.keySet(), "the case's hostdevs are IOMMU groups 5 and 10: " + groups);
        guestDomainsByGroup.forEach((group, groupDomains) -> assertEquals(1, groupDomains.size(), "IOMMU group " + group + " is on one PHB: " + groupDomains));
        assertNotEquals(guestDomainsByGroup.get("5"), guestDomainsByGroup.get("10"), "groups 5 and 10 are on different PHBs");
        assertEquals(boot.standIns().size(), standIns(guest).size(), "the guest has every stand-in and nothing else of their kind");

        // Every planned cell is a node the guest has (the PHBs' nodes among them).
        // Without planned cells the guest has the one node Linux always makes.
        List<Integer> cells = plannedCells(plan);
        assertEquals(cells.isEmpty() ? "0" : linuxList(cells), guest.nodesOnline(), "NUMA nodes online");
    }

    /** The IGD's stand-in keeps the planned 00:02.0, directly on the root complex (q35's pcie-root, i440fx's pci-root). */
    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("igdCases")
    void igdStandInAtThePlannedAddress(Stack stack, String goldenCase) throws IOException {
        String plan = Files.readString(ROOT.resolve("src/golden").resolve(goldenCase).resolve("expected.xml"));

        BootedGuest.Boot boot = BootedGuest.boot(stack, plan);
        print(boot);

        assertEquals(1, boot.standIns().size(), boot.standIns().toString());
        StandIn igd = boot.standIns().get(0);
        assertEquals("0000:00:02.0", igd.hostAddress());
        StandIn.PlannedAddress planned = igd.guestAddress().orElseThrow(() -> new AssertionError("the plan must place the IGD"));
        // Controller index 0 is the root bus, which the guest numbers bus 00 of domain 0000.
        assertEquals(0, planned.bus(), "planned on the root bus");
        GuestReport.Device device = standInAt(boot.report(), planned.toString(), igd);
        assertEquals("0000:00:02.0", device.address());
        assertEquals("pci0000:00", device.hostBridge());
        assertEquals(0, device.bridgesAbove(), "an integrated device has no root port above it: " + device.path());
        assertEquals(1, standIns(boot.report()).size(), "exactly one stand-in in the guest");
    }

    /**
     * A guest whose init dies (the kernel panics, panic=-1 reboots it, the reboot
     * destroys it) ends at once, and the failure names the missing marker and shows the console.
     */
    @Test
    void guestThatDiesFailsWithItsConsoleLog() throws IOException {
        String plan = Files.readString(ROOT.resolve("src/golden/igd-q35-auto-upt-qemu92/expected.xml"));
        byte[] dying = "#!/bin/busybox sh\necho init is giving up\nexit 1\n".getBytes(StandardCharsets.UTF_8);
        long started = System.nanoTime();

        AssertionError failure = assertThrows(AssertionError.class, () -> BootedGuest.boot(Stacks.any(), plan, BootedGuest.TIME_LIMIT, dying));

        assertTrue(Duration.ofNanos(System.nanoTime() - started).compareTo(Duration.ofSeconds(60)) < 0, "a dead guest ends long before the time limit");
        String message = failure.getMessage();
        assertTrue(message.contains("no '" + GuestInit.BEGIN + "' line"), message);
        assertTrue(message.contains("--- console log ---") && message.contains("init is giving up") && message.contains("Attempted to kill init"), message);
    }

    /** A guest that never ends fails at the time limit, with its console, and is destroyed. */
    @Test
    void hungGuestFailsAtTheTimeLimitAndIsDestroyed() throws IOException {
        Stack stack = Stacks.any();
        String plan = Files.readString(ROOT.resolve("src/golden/igd-q35-auto-upt-qemu92/expected.xml"));
        byte[] hanging = ("#!/bin/busybox sh\necho " + GuestInit.BEGIN + "\nwhile :; do /bin/busybox sleep 1; done\n").getBytes(StandardCharsets.UTF_8);

        AssertionError failure = assertThrows(AssertionError.class, () -> BootedGuest.boot(stack, plan, Duration.ofSeconds(20), hanging));

        String message = failure.getMessage();
        // Whether the guest got as far as its BEGIN line depends on the machine's load; the console is there either way.
        assertTrue(message.contains("did not end within 20 s") && message.contains("--- console log ---"), message);
        Matcher name = Pattern.compile("guest (vt-guest-\\S+) did not end").matcher(message);
        assertTrue(name.find(), message);
        Libvirt.Result state = stack.virsh("domstate", name.group(1));
        assertFalse(state.ok(), "the hung guest was destroyed: " + state.stdout());
    }

    private static GuestReport.Device standInAt(GuestReport guest, String address, StandIn standIn) {
        GuestReport.Device device = guest.device(address)
                .orElseThrow(() -> new AssertionError("the guest has no PCI function at " + address + " for " + standIn + ":\n" + guest.render()));
        assertEquals(VIRTIO_VENDOR, device.vendor(), address + " is the stand-in for " + standIn.hostAddress());
        assertTrue(VIRTIO_RNG_DEVICES.contains(device.device()), address + " is a virtio-rng: " + device);
        return device;
    }

    private static List<GuestReport.Device> standIns(GuestReport guest) {
        return guest.devices().stream().filter(device -> device.vendor().equals(VIRTIO_VENDOR) && VIRTIO_RNG_DEVICES.contains(device.device())).toList();
    }

    /** The guest's root bus of the spapr PHB with this index, found by its device tree node. */
    private static GuestReport.Bus rootBusOf(GuestReport guest, int phbIndex) {
        String node = "/pci@" + Long.toHexString(SPAPR_PCI_BASE_BUID + phbIndex);
        return guest.buses().stream().filter(bus -> bus.isRoot() && bus.ofNode().endsWith(node)).findFirst()
                .orElseThrow(() -> new AssertionError("the guest has no root bus for PHB " + phbIndex + " (" + node + "):\n" + guest.render()));
    }

    record PlannedPhb(int controllerIndex, int targetIndex, java.util.OptionalInt node) {
    }

    /** The spapr-pci-host-bridge controllers of a plan, by libvirt controller index (what guest addresses name as bus). */
    private static Map<Integer, PlannedPhb> plannedPhbs(String plan) {
        Element devices = GuestDomain.child(GuestDomain.parse(plan).getDocumentElement(), "devices").orElseThrow();
        Map<Integer, PlannedPhb> phbs = new TreeMap<>();
        for (Element controller : GuestDomain.children(devices, "controller")) {
            boolean phb = GuestDomain.child(controller, "model").map(model -> model.getAttribute("name").equals("spapr-pci-host-bridge")).orElse(false);
            Element target = GuestDomain.child(controller, "target").orElse(null);
            if (phb && target != null) {
                int index = Integer.parseInt(controller.getAttribute("index"));
                java.util.OptionalInt node = GuestDomain.child(target, "node").map(element -> java.util.OptionalInt.of(Integer.parseInt(element.getTextContent().strip())))
                        .orElse(java.util.OptionalInt.empty());
                phbs.put(index, new PlannedPhb(index, Integer.parseInt(target.getAttribute("index")), node));
            }
        }
        return phbs;
    }

    /** Every spapr-pci-host-bridge controller of a plan, with or without a target index. */
    private static long spaprControllers(String plan) {
        Element devices = GuestDomain.child(GuestDomain.parse(plan).getDocumentElement(), "devices").orElseThrow();
        return GuestDomain.children(devices, "controller").stream()
                .filter(controller -> GuestDomain.child(controller, "model").map(model -> model.getAttribute("name").equals("spapr-pci-host-bridge")).orElse(false))
                .count();
    }

    private static List<Integer> plannedCells(String plan) {
        Element domain = GuestDomain.parse(plan).getDocumentElement();
        return GuestDomain.child(domain, "cpu").flatMap(cpu -> GuestDomain.child(cpu, "numa")).map(numa -> GuestDomain.children(numa, "cell")).orElse(List.of())
                .stream().map(cell -> Integer.parseInt(cell.getAttribute("id"))).sorted().toList();
    }

    /** The IOMMU group of every device of the golden case's host fixture, as the fixture's sysfs links them. */
    private Map<String, String> iommuGroups(Path golden) throws IOException {
        Path host = golden.resolve(Files.readString(golden.resolve("host.ref")).strip()).normalize();
        HostFixture fixture = HostFixture.load(host);
        Path sysfs = fixture.materialize(Files.createDirectory(work.resolve("sysfs")));
        Map<String, String> groups = new HashMap<>();
        for (var address : fixture.devices()) {
            Path link = sysfs.resolve("sys/bus/pci/devices").resolve(address.toString()).resolve("iommu_group");
            if (Files.exists(link)) {
                groups.put(address.toString(), link.toRealPath().getFileName().toString());
            }
        }
        return groups;
    }

    /** Linux's list format, as /sys/devices/system/node/online prints it: 0-8, or 0,2-3. */
    private static String linuxList(List<Integer> numbers) {
        List<String> ranges = new ArrayList<>();
        for (int i = 0; i < numbers.size(); ) {
            int j = i;
            while (j + 1 < numbers.size() && numbers.get(j + 1) == numbers.get(j) + 1) {
                j++;
            }
            ranges.add(i == j ? String.valueOf(numbers.get(i)) : numbers.get(i) + "-" + numbers.get(j));
            i = j + 1;
        }
        return String.join(",", ranges);
    }

    /** The parsed guest PCI tree in the Surefire output, with the stand-ins and timings. */
    private static void print(BootedGuest.Boot boot) {
        StringBuilder text = new StringBuilder();
        text.append("=== ").append(boot.domainName()).append(" on ").append(boot.stack()).append(": ").append(boot.elapsed().toMillis()).append(" ms from create to gone (")
                .append(boot.creating().toMillis()).append(" ms in virsh create)\n");
        boot.adaptations().forEach(adaptation -> text.append("adapted: ").append(adaptation).append('\n'));
        text.append(boot.standIns().stream().map(standIn -> "stand-in " + standIn.guestAddress().map(Object::toString).orElse("(unplaced)") + " for host "
                + standIn.hostAddress() + standIn.alias().map(alias -> " alias " + alias).orElse("")).collect(Collectors.joining("\n"))).append('\n');
        text.append(boot.report().render());
        System.out.print(text);
    }
}
