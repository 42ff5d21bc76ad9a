package io.vfiotune.xml.transforms.topology;

import io.vfiotune.spi.DomainEdit.PcieControllerModel;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainTransform;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.GuestNumaCells;
import io.vfiotune.spi.GuestPciAddress;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.PciControllerView;
import io.vfiotune.spi.Severity;
import io.vfiotune.spi.TransformResult;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.xml.transforms.layout.GuestMachines;
import io.vfiotune.xml.transforms.topology.MirrorUnits.Unit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * A guest PCIe topology that mirrors the host's, so NCCL in the guest finds the
 * same path types the host has: one {@code pcie-expander-bus} per host NUMA node
 * (on the guest cell that node maps to), devices that share a host PCIe switch
 * behind one guest switch, and a device alone on its host root port alone on a
 * guest root port.
 *
 * <p>The plan is all or nothing: hostdevs that are unplaced, or sit on a root
 * port of {@code pcie.0} (libvirt's one-port-per-device default), are laid out
 * afresh; a definition whose hostdevs are all pinned elsewhere is kept when its
 * layout already mirrors the host (a re-plan of vfio-tune's own output, or the
 * user's equivalent), and refused otherwise, naming the pairs that differ. Pinned
 * and unplaced hostdevs together are refused too: vfio-tune never moves what the
 * user pinned.
 */
public final class TopologyMirrorTransform implements DomainTransform {
    /** Guest bus numbers are 8 bits; libvirt's controller indices are what device addresses name as {@code bus}, also 0-255. */
    static final int LAST_BUS = 255;
    static final int SLOTS = 32;
    /**
     * Bus numbers left to {@code pcie.0}'s own hierarchy below the first expander bus,
     * beyond the controllers the definition has: libvirt adds a root port for every
     * device it places at define time.
     */
    static final int MAIN_BUS_MARGIN = 16;

    @Override
    public String name() {
        return "topology-mirror";
    }

    @Override
    public int order() {
        return 70;
    }

    @Override
    public TransformResult plan(DomainView domain, HostTopology host) {
        if (domain.annotations().topology() == TuneAnnotations.TopologyMode.OFF) {
            return TransformResult.EMPTY;
        }
        List<Finding> findings = new ArrayList<>();
        String subject = "domain " + domain.name();
        if (!GuestMachines.hasPcieControllers(domain)) {
            findings.add(Finding.error("TOPOLOGY-MACHINE", subject, "<vt:topology mode='mirror'> needs PCIe expander buses, root ports and switches: a q35 machine on x86"
                    + " or virt on ARM; this domain's machine is '" + domain.machine().orElse("the default for " + domain.architecture().orElse("its architecture"))
                    + "'; use machine='q35', or remove the annotation"));
            return new TransformResult(List.of(), findings);
        }
        List<Unit> units = MirrorUnits.of(domain, host, findings);
        if (findings.stream().anyMatch(finding -> finding.severity() == Severity.ERROR) || units.isEmpty()) {
            return new TransformResult(List.of(), findings);
        }
        Map<Integer, GuestNumaCells.Mapping> cells = GuestNumaCells.of(domain).map(units.stream().map(Unit::hostNode)
                .filter(OptionalInt::isPresent).map(OptionalInt::getAsInt).collect(Collectors.toSet()));
        warnUnmappedNodes(units, cells, findings);
        GuestPcieTree tree = new GuestPcieTree(domain);
        List<Unit> pinned = units.stream().filter(unit -> unit.pinnedBy(tree)).toList();
        if (pinned.isEmpty()) {
            List<DomainEdit> edits = new ArrayList<>();
            layOut(domain, tree, units, cells, edits, findings);
            if (findings.stream().noneMatch(finding -> finding.severity() == Severity.ERROR)) {
                Mmio64Window.plan(domain, MirrorNode.rootPorts(units), edits, findings);
            }
            return new TransformResult(edits, findings);
        }
        List<Unit> partly = units.stream().filter(unit -> unit.partlyPinnedBy(tree)).toList();
        if (!partly.isEmpty()) {
            findings.add(Finding.error("TOPOLOGY-PINNED", subject, "the definition pins some functions of " + MirrorUnits.describe(partly)
                    + " and not the others; the functions of one host device share one guest slot: give them all an <address> in that slot, or remove them all"
                    + " (and the controllers that held them) to let vfio-tune place them"));
            return new TransformResult(List.of(), findings);
        }
        if (pinned.size() < units.size()) {
            findings.add(Finding.error("TOPOLOGY-PINNED", subject, "the definition pins " + MirrorUnits.describe(pinned) + " and not "
                    + MirrorUnits.describe(units.stream().filter(unit -> !pinned.contains(unit)).toList()) + "; the mirror places all of a domain's"
                    + " hostdevs or none, and never moves a pinned one: remove the <address> of the pinned hostdevs (and the controllers that held them) to"
                    + " plan them all, or set <vt:topology mode='off'/>"));
            return new TransformResult(List.of(), findings);
        }
        List<String> differences = MirrorCheck.differences(units, tree, cells);
        if (differences.isEmpty()) {
            findings.add(Finding.info("TOPOLOGY-KEPT", subject, "the definition's layout already mirrors the host for " + MirrorUnits.describe(units)));
            List<DomainEdit> edits = new ArrayList<>();
            Mmio64Window.plan(domain, MirrorNode.rootPorts(units), edits, findings);
            return new TransformResult(edits, findings);
        } else {
            findings.add(Finding.error("TOPOLOGY-PINNED", subject, "the pinned layout does not mirror the host: " + String.join("; ", differences)
                    + "; vfio-tune never moves pinned hostdevs: remove their <address> elements (and the controllers that held them) to let it plan them,"
                    + " or set <vt:topology mode='off'/>"));
        }
        return new TransformResult(List.of(), findings);
    }

    private static void warnUnmappedNodes(List<Unit> units, Map<Integer, GuestNumaCells.Mapping> cells, List<Finding> findings) {
        // NCCL keys its CPU nodes by numa_node: two host nodes on one guest cell meet in one guest CPU.
        Map<Integer, List<Integer>> hostNodesByCell = new TreeMap<>();
        cells.values().forEach(mapping -> mapping.guestCell().ifPresent(cell -> hostNodesByCell.computeIfAbsent(cell, key -> new ArrayList<>()).add(mapping.hostNode())));
        hostNodesByCell.forEach((cell, hostNodes) -> {
            if (hostNodes.size() > 1) {
                findings.add(Finding.warning("TOPOLOGY-NUMA-MERGED", "guest cell " + cell, "host NUMA nodes " + hostNodes.stream().map(String::valueOf)
                        .collect(Collectors.joining(", ")) + " all map to guest cell " + cell + ", so NCCL in the guest reads PHB between their devices where the"
                        + " host has SYS; give each host node a guest cell of its own (<cpu><numa> cells and one <numatune><memnode> per host node)"));
            }
        });
        for (GuestNumaCells.Mapping mapping : cells.values()) {
            if (mapping.guestCell().isEmpty()) {
                List<Unit> onNode = units.stream().filter(unit -> unit.hostNode().equals(OptionalInt.of(mapping.hostNode()))).toList();
                findings.add(Finding.warning("TOPOLOGY-NUMA-CELL", "host node " + mapping.hostNode(), MirrorUnits.describe(onNode)
                        + (onNode.size() == 1 ? " sits" : " sit") + " on host NUMA node " + mapping.hostNode() + ", and the expander bus for it gets no <node>,"
                        + " so the guest does not see that locality" + (cells.size() > 1 ? " (and NCCL in the guest reads PHB where the host has SYS)" : "")
                        + ": " + mapping.explanation()));
            }
        }
    }

    /** Lays every unit out afresh: one expander bus per host node, ports and switches below it. */
    private static void layOut(DomainView domain, GuestPcieTree tree, List<Unit> units, Map<Integer, GuestNumaCells.Mapping> cells,
            List<DomainEdit> edits, List<Finding> findings) {
        String subject = "domain " + domain.name();
        // Host nodes in ascending order, devices without a node last: the same host always gives the same layout.
        Map<Integer, List<Unit>> byNode = new TreeMap<>();
        for (Unit unit : units) {
            byNode.computeIfAbsent(unit.hostNode().orElse(Integer.MAX_VALUE), key -> new ArrayList<>()).add(unit);
        }
        Map<Integer, List<MirrorNode>> forests = new LinkedHashMap<>();
        byNode.forEach((node, members) -> forests.put(node, MirrorNode.forest(members, 0)));
        Allocator allocator = new Allocator(tree.nextFreeIndex());
        List<DomainEdit> controllers = new ArrayList<>();
        List<DomainEdit> addresses = new ArrayList<>();
        Map<Integer, Integer> busesPerExpander = new LinkedHashMap<>();
        // said only once the layout is known to fit
        List<Finding> layouts = new ArrayList<>();
        for (Map.Entry<Integer, List<MirrorNode>> entry : forests.entrySet()) {
            int hostNode = entry.getKey();
            List<MirrorNode> forest = entry.getValue();
            if (forest.size() > SLOTS) {
                findings.add(Finding.error("TOPOLOGY-TOO-WIDE", "host node " + hostNode, forest.size() + " devices or switches need their own root port on one"
                        + " expander bus, which has " + SLOTS + " slots; pass fewer devices of this NUMA node through"));
                return;
            }
            int expander = allocator.next();
            OptionalInt cell = hostNode == Integer.MAX_VALUE ? OptionalInt.empty() : cells.get(hostNode).guestCell();
            // busNr is filled in below, once every expander bus knows how many buses it needs
            controllers.add(new DomainEdit.AddPcieController(expander, PcieControllerModel.EXPANDER_BUS, Optional.empty(), OptionalInt.empty(), cell));
            int before = allocator.allocated();
            for (int slot = 0; slot < forest.size(); slot++) {
                int rootPort = allocator.next();
                controllers.add(new DomainEdit.AddPcieController(rootPort, PcieControllerModel.ROOT_PORT, Optional.of(new GuestPciAddress(0, expander, slot, 0)),
                        OptionalInt.empty(), OptionalInt.empty()));
                if (!place(forest.get(slot), rootPort, allocator, controllers, addresses, findings)) {
                    return;
                }
            }
            busesPerExpander.put(expander, allocator.allocated() - before);
            layouts.add(Finding.info("TOPOLOGY-LAYOUT", "expander bus " + expander, (hostNode == Integer.MAX_VALUE ? "devices the host gives no NUMA node"
                    : "host NUMA node " + hostNode) + (cell.isPresent() ? " (guest cell " + cell.getAsInt() + ")" : "") + ": "
                    + forest.stream().map(MirrorNode::describe).collect(Collectors.joining(", "))));
        }
        if (allocator.last() > LAST_BUS) {
            findings.add(Finding.error("TOPOLOGY-BUS-NUMBERS", subject, "the mirror needs controller indices up to " + allocator.last()
                    + ", and libvirt's PCI buses end at " + LAST_BUS + "; pass fewer devices through, or remove unused controllers"));
            return;
        }
        Optional<Map<Integer, Integer>> busNumbers = busNumbers(domain, tree, busesPerExpander, findings);
        if (busNumbers.isEmpty()) {
            return;
        }
        for (DomainEdit edit : controllers) {
            if (edit instanceof DomainEdit.AddPcieController add && add.model() == PcieControllerModel.EXPANDER_BUS) {
                edits.add(new DomainEdit.AddPcieController(add.index(), add.model(), add.address(), OptionalInt.of(busNumbers.get().get(add.index())), add.numaNode()));
            } else {
                edits.add(edit);
            }
        }
        edits.addAll(addresses);
        findings.addAll(layouts);
        for (Unit unit : units) {
            if (unit.members().stream().anyMatch(member -> member.hostdev().guestAddress().isPresent())) {
                findings.add(Finding.info("TOPOLOGY-MOVED", unit.describe(), "moved off its root port on pcie.0 (libvirt's one-port-per-device default) into the mirror"));
            }
        }
    }

    /** Places a unit at slot 0 of {@code bus}, or a switch's upstream port there with one downstream port per child. */
    private static boolean place(MirrorNode node, int bus, Allocator allocator, List<DomainEdit> controllers, List<DomainEdit> addresses, List<Finding> findings) {
        if (node instanceof MirrorNode.Device device) {
            addresses.addAll(device.unit().pin(bus, 0));
            return true;
        }
        MirrorNode.Switch hostSwitch = (MirrorNode.Switch) node;
        if (hostSwitch.children().size() > SLOTS) {
            findings.add(Finding.error("TOPOLOGY-TOO-WIDE", "switch " + hostSwitch.hostSwitch(), hostSwitch.children().size()
                    + " devices below one host switch need a downstream port each, and a guest switch has " + SLOTS));
            return false;
        }
        int upstream = allocator.next();
        controllers.add(new DomainEdit.AddPcieController(upstream, PcieControllerModel.SWITCH_UPSTREAM_PORT, Optional.of(new GuestPciAddress(0, bus, 0, 0)),
                OptionalInt.empty(), OptionalInt.empty()));
        for (int slot = 0; slot < hostSwitch.children().size(); slot++) {
            int downstream = allocator.next();
            controllers.add(new DomainEdit.AddPcieController(downstream, PcieControllerModel.SWITCH_DOWNSTREAM_PORT, Optional.of(new GuestPciAddress(0, upstream, slot, 0)),
                    OptionalInt.empty(), OptionalInt.empty()));
            if (!place(hostSwitch.children().get(slot), downstream, allocator, controllers, addresses, findings)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The first guest bus number of each expander bus. Firmware numbers an expander
     * bus's ports from its busNr up, and {@code pcie.0}'s hierarchy from 1 up to the
     * lowest expander bus, so each expander bus needs a free range above its busNr
     * and all of them must sit above {@code pcie.0}'s. The mirror's are stacked from
     * the top of the 0-255 range down, around the ranges the definition's own
     * expander buses hold (their busNr and one number per controller below them).
     */
    private static Optional<Map<Integer, Integer>> busNumbers(DomainView domain, GuestPcieTree tree, Map<Integer, Integer> busesPerExpander, List<Finding> findings) {
        int mainBuses = 1 + MAIN_BUS_MARGIN;
        Map<Integer, int[]> userRanges = new LinkedHashMap<>();
        for (PciControllerView controller : domain.pciControllers()) {
            if (isExpanderBus(controller)) {
                controller.busNr().ifPresent(busNr -> userRanges.put(controller.index(), new int[] {busNr, busNr}));
            }
        }
        for (PciControllerView controller : domain.pciControllers()) {
            if (controller.index() == 0 || isExpanderBus(controller)) {
                continue;
            }
            Optional<PciControllerView> expander = controller.address().flatMap(address -> MirrorCheck.expanderAbove(address, tree));
            if (expander.isPresent() && userRanges.containsKey(expander.get().index())) {
                userRanges.get(expander.get().index())[1]++;
            } else if (expander.isEmpty()) {
                mainBuses++;
            }
        }
        List<int[]> occupied = new ArrayList<>(userRanges.values());
        Map<Integer, Integer> busNumbers = new LinkedHashMap<>();
        List<Integer> expanders = new ArrayList<>(busesPerExpander.keySet());
        int lowest = occupied.stream().mapToInt(range -> range[0]).min().orElse(LAST_BUS + 1);
        for (int i = expanders.size() - 1; i >= 0; i--) {
            int expander = expanders.get(i);
            int length = busesPerExpander.get(expander);
            int start = LAST_BUS - length;
            while (start >= 0 && overlaps(occupied, start, start + length)) {
                start--;
            }
            if (start < 0) {
                lowest = -1;
                break;
            }
            occupied.add(new int[] {start, start + length});
            busNumbers.put(expander, start);
            lowest = Math.min(lowest, start);
        }
        if (lowest < mainBuses) {
            int needed = busesPerExpander.values().stream().mapToInt(buses -> buses + 1).sum();
            findings.add(Finding.error("TOPOLOGY-BUS-NUMBERS", "domain " + domain.name(), "the mirror's expander buses need " + needed + " bus numbers"
                    + (userRanges.isEmpty() ? "" : " beside the definition's own expander buses") + ", and pcie.0 keeps " + mainBuses
                    + " below all of them (its controllers and room for the root ports libvirt adds); a guest has 256; pass fewer devices through"));
            return Optional.empty();
        }
        return Optional.of(busNumbers);
    }

    private static boolean isExpanderBus(PciControllerView controller) {
        return controller.model().equals(GuestPcieTree.EXPANDER_BUS) || controller.model().equals("pci-expander-bus");
    }

    private static boolean overlaps(List<int[]> ranges, int first, int last) {
        return ranges.stream().anyMatch(range -> first <= range[1] && range[0] <= last);
    }

    /** Controller indices, handed out in order. */
    private static final class Allocator {
        private int next;
        private int allocated;

        Allocator(int first) {
            this.next = first;
        }

        int next() {
            allocated++;
            return next++;
        }

        int allocated() {
            return allocated;
        }

        int last() {
            return next - 1;
        }
    }
}
