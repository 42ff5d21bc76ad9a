package io.vfiotune.xml.transforms.spapr;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainTransform;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.GuestDeviceView;
import io.vfiotune.spi.GuestNumaCells;
import io.vfiotune.spi.GuestPciAddress;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.PciControllerView;
import io.vfiotune.spi.Severity;
import io.vfiotune.spi.TransformResult;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.xml.transforms.layout.GuestMachines;
import io.vfiotune.xml.transforms.layout.PassthroughDevices;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Extra sPAPR PHBs for pseries guests, one host IOMMU group per vPHB. EEH on a
 * PHB works only when it holds exactly one VFIO container with one group, and
 * libvirt isolates groups itself only when it assigns addresses on the real
 * host. Once a definition carries addresses (libvirt writes them at define
 * time) nothing isolates them any more, so this planner makes the rule explicit.
 *
 * <p>Hostdevs on the default PHB (index 0) are taken as unplaced: that is
 * where libvirt puts them when it cannot see the groups, and the default PHB
 * keeps the emulated devices. Hostdevs on an extra PHB are the user's layout:
 * kept when it respects the rule, refused when it does not.
 */
public final class SpaprPhbTransform implements DomainTransform {
    /** SPAPR_MAX_PHBS is 31: target indices 0-30, 0 being the default PHB. */
    static final int MAX_TARGET_INDEX = 30;
    /** libvirt uses slots 1-31 on a pci-root; slot 0 is refused. */
    static final int FIRST_SLOT = 1;
    static final int LAST_SLOT = 31;
    static final int NPU2_VENDOR = 0x1014;
    static final int NPU2_DEVICE = 0x04ea;
    private static final int CLASS_PCI_BRIDGE = 0x0604;

    @Override
    public String name() {
        return "spapr-phbs";
    }

    @Override
    public int order() {
        return 50;
    }

    @Override
    public TransformResult plan(DomainView domain, HostTopology host) {
        if (domain.annotations().spaprPhbs() == TuneAnnotations.PhbMode.OFF) {
            return TransformResult.EMPTY;
        }
        List<Finding> findings = new ArrayList<>();
        if (!GuestMachines.isPseries(domain)) {
            findings.add(Finding.error("SPAPR-NOT-PSERIES", "domain " + domain.name(), "<vt:spapr-phbs mode='per-iommu-group'> is for pseries guests, and this domain's machine is '"
                    + domain.machine().orElse("the default for " + domain.architecture().orElse("its architecture")) + "'; remove the annotation or set mode='off'"));
            return new TransformResult(List.of(), findings);
        }
        // Groups in ascending number, members in document order: the same groups always get the same PHBs.
        Map<Integer, List<Member>> groups = new TreeMap<>();
        for (HostdevView hostdev : domain.pciHostdevs()) {
            Optional<PciFunction> function = PassthroughDevices.resolve(hostdev, host, "its IOMMU group", PassthroughDevices.Needs.HEADER, findings);
            if (function.isEmpty()) {
                continue;
            }
            OptionalInt group = function.get().iommuGroup();
            if (group.isEmpty()) {
                findings.add(Finding.error("SPAPR-NO-GROUP", hostdev.source().toString(), "the host puts this device in no IOMMU group, so VFIO cannot pass it through"
                        + " and no PHB can be chosen for it; check that the IOMMU is on"));
                continue;
            }
            groups.computeIfAbsent(group.getAsInt(), key -> new ArrayList<>()).add(new Member(hostdev, function.get()));
        }
        Layout layout = new Layout(domain);
        checkUserLayout(groups, layout, findings);
        warnPartialGroups(domain, host, groups, findings);
        List<DomainEdit> edits = new ArrayList<>();
        if (findings.stream().noneMatch(finding -> finding.severity() == Severity.ERROR)) {
            place(domain, groups, layout, edits, findings);
        }
        describeNvlink(domain, host, groups, findings);
        return new TransformResult(edits, findings);
    }

    private static void checkUserLayout(Map<Integer, List<Member>> groups, Layout layout, List<Finding> findings) {
        Map<Integer, Map<Integer, List<Member>>> groupsByPhb = new TreeMap<>();
        groups.forEach((group, members) -> {
            Map<Integer, List<Member>> phbs = new TreeMap<>();
            for (Member member : members) {
                layout.userPhb(member.hostdev()).ifPresent(phb -> {
                    phbs.computeIfAbsent(phb, key -> new ArrayList<>()).add(member);
                    groupsByPhb.computeIfAbsent(phb, key -> new TreeMap<>()).computeIfAbsent(group, key -> new ArrayList<>()).add(member);
                });
            }
            if (phbs.size() > 1) {
                findings.add(Finding.error("SPAPR-GROUP-SPLIT", "IOMMU group " + group, "its devices are spread over PHBs "
                        + phbs.entrySet().stream().map(entry -> entry.getKey() + " (" + sources(entry.getValue()) + ")").collect(Collectors.joining(" and "))
                        + "; a group is one VFIO container and must sit on one PHB: give them the same bus, or remove their <address> elements and let vfio-tune place them"));
            }
        });
        groupsByPhb.forEach((phb, byGroup) -> {
            if (byGroup.size() > 1) {
                findings.add(Finding.error("SPAPR-MIXED-GROUPS", "PHB " + phb, "it holds hostdevs of IOMMU groups "
                        + byGroup.entrySet().stream().map(entry -> entry.getKey() + " (" + sources(entry.getValue()) + ")").collect(Collectors.joining(" and "))
                        + "; EEH works only with one IOMMU group per PHB: move each group to its own PHB, or remove their <address> elements and let vfio-tune place them"));
            }
        });
    }

    /** VFIO needs every endpoint of a group kept from host drivers; bridges in the group do not count. */
    private static void warnPartialGroups(DomainView domain, HostTopology host, Map<Integer, List<Member>> groups, List<Finding> findings) {
        Set<PciAddress> assigned = domain.pciHostdevs().stream().map(HostdevView::source).collect(Collectors.toSet());
        groups.forEach((group, members) -> {
            List<PciAddress> missing = host.iommuGroupMembers(group).stream()
                    .filter(address -> !assigned.contains(address))
                    .filter(address -> host.function(address).map(function -> (function.classCode() >> 8) != CLASS_PCI_BRIDGE).orElse(true))
                    .toList();
            if (!missing.isEmpty()) {
                findings.add(Finding.warning("SPAPR-GROUP-PARTIAL", "IOMMU group " + group, "the domain passes through " + sources(members) + " but not "
                        + missing.stream().map(PciAddress::toString).collect(Collectors.joining(", "))
                        + " of the same group; VFIO needs the whole group: add them as hostdevs, or keep them unbound from host drivers"));
            }
        });
    }

    private static void place(DomainView domain, Map<Integer, List<Member>> groups, Layout layout, List<DomainEdit> edits, List<Finding> findings) {
        List<Integer> unplaced = new ArrayList<>();
        for (Map.Entry<Integer, List<Member>> entry : groups.entrySet()) {
            Optional<Integer> userPhb = entry.getValue().stream().map(member -> layout.userPhb(member.hostdev())).flatMap(Optional::stream).findFirst();
            if (userPhb.isPresent()) {
                fill(userPhb.get(), entry.getKey(), entry.getValue(), layout, edits, findings);
            } else {
                unplaced.add(entry.getKey());
            }
        }
        List<int[]> phbs = new ArrayList<>();
        for (int group : unplaced) {
            phbs.add(new int[] {layout.takeIndex(), layout.takeTargetIndex()});
        }
        long over = phbs.stream().filter(indices -> indices[1] > MAX_TARGET_INDEX).count();
        if (over > 0) {
            findings.add(Finding.error("SPAPR-TOO-MANY-PHBS", "domain " + domain.name(), "one PHB per IOMMU group needs " + (layout.extraPhbs() + unplaced.size())
                    + " extra PHBs (" + unplaced.size() + " new ones for groups " + unplaced.stream().map(String::valueOf).collect(Collectors.joining(", "))
                    + "), but sPAPR allows target indices up to " + MAX_TARGET_INDEX + ", that is " + MAX_TARGET_INDEX
                    + " extra PHBs; split these devices over more than one guest"));
            edits.clear();
            return;
        }
        // Host nodes are mapped together, so the memnodes suggested for unmapped ones never share a guest cell.
        Map<Integer, OptionalInt> hostNodes = new LinkedHashMap<>();
        for (int group : unplaced) {
            hostNodes.put(group, groups.get(group).stream().map(member -> member.function().numaNode()).filter(OptionalInt::isPresent).findFirst().orElse(OptionalInt.empty()));
        }
        Map<Integer, GuestNumaCells.Mapping> cells = GuestNumaCells.of(domain).map(hostNodes.values().stream().filter(OptionalInt::isPresent).map(OptionalInt::getAsInt).toList());
        for (int i = 0; i < unplaced.size(); i++) {
            int group = unplaced.get(i);
            List<Member> members = groups.get(group);
            int index = phbs.get(i)[0];
            int targetIndex = phbs.get(i)[1];
            OptionalInt node = hostNodes.get(group);
            Optional<GuestNumaCells.Mapping> cell = node.isPresent() ? Optional.of(cells.get(node.getAsInt())) : Optional.empty();
            OptionalInt guestCell = cell.map(GuestNumaCells.Mapping::guestCell).orElse(OptionalInt.empty());
            if (cell.isPresent() && guestCell.isEmpty()) {
                findings.add(Finding.warning("SPAPR-NUMA-CELL", "PHB " + index, "IOMMU group " + group + " sits on host NUMA node " + node.getAsInt()
                        + ", and the PHB gets no <node>: " + cell.get().explanation()));
            }
            edits.add(new DomainEdit.AddSpaprPhb(index, targetIndex, guestCell));
            findings.add(Finding.info("SPAPR-PHB", "PHB " + index, "IOMMU group " + group + " (" + sources(members) + ") gets its own PHB, target index " + targetIndex
                    + (guestCell.isPresent() ? ", guest NUMA cell " + guestCell.getAsInt() + " (" + cell.get().explanation() + ")" : "")));
            fill(index, group, members, layout, edits, findings);
        }
    }

    /** Puts the group's members that have no place yet into free slots of {@code phb}. */
    private static void fill(int phb, int group, List<Member> members, Layout layout, List<DomainEdit> edits, List<Finding> findings) {
        for (Member member : members) {
            if (layout.userPhb(member.hostdev()).isPresent()) {
                continue;
            }
            OptionalInt slot = layout.takeSlot(phb);
            if (slot.isEmpty()) {
                findings.add(Finding.error("SPAPR-PHB-FULL", "PHB " + phb, "no free slot is left for " + member.hostdev().source() + " of IOMMU group " + group
                        + "; a PHB has slots " + FIRST_SLOT + "-" + LAST_SLOT));
                return;
            }
            edits.add(new DomainEdit.SetGuestAddress(member.hostdev().source(), new GuestPciAddress(0, phb, slot.getAsInt(), 0)));
        }
    }

    private static void describeNvlink(DomainView domain, HostTopology host, Map<Integer, List<Member>> groups, List<Finding> findings) {
        List<Member> members = groups.values().stream().flatMap(List::stream).toList();
        long gpus = members.stream().filter(member -> member.function().vendorId() == PciFunction.VENDOR_NVIDIA && !member.function().nvlinks().isEmpty()).count();
        long links = members.stream().filter(member -> isNpuLink(member.function())).count();
        if (gpus == 0 && links == 0) {
            return;
        }
        String subject = "domain " + domain.name();
        findings.add(Finding.info("SPAPR-NVLINK2", subject, "V100 NVLink2 on POWER9: " + gpus + (gpus == 1 ? " GPU and " : " GPUs and ") + links + (links == 1 ? " NPU link" : " NPU links") + "; the platform allows at most 6 GPUs,"
                + " 3 links per GPU and 8 ATSD registers per vPHB (one per link); a GPU and its links share an IOMMU group and so a vPHB"));
        Map<Integer, Long> linksPerGroup = new HashMap<>();
        groups.forEach((group, groupMembers) -> linksPerGroup.put(group, groupMembers.stream().filter(member -> isNpuLink(member.function())).count()));
        linksPerGroup.forEach((group, count) -> {
            if (count > 8) {
                findings.add(Finding.warning("SPAPR-NVLINK2-LIMIT", "IOMMU group " + group, count + " NVLink2 links on one vPHB, more than its 8 ATSD registers"));
            }
        });
        if (gpus > 6) {
            findings.add(Finding.warning("SPAPR-NVLINK2-LIMIT", subject, gpus + " NVLink2 GPUs, more than the 6 the platform supports in one guest"));
        }
        findings.add(Finding.warning("SPAPR-NVLINK2-RAM", subject, "passing GPU RAM through NVLink2 needs Linux < 5.13 and QEMU < 8.2 (this host's QEMU is "
                + host.facts().qemuVersion(domain.emulator()) + "); the GPUs still work as PCIe devices, and vfio-tune never sets the removed gpa, atsd or nvlink2-tgt properties"));
    }

    private static boolean isNpuLink(PciFunction function) {
        return function.vendorId() == NPU2_VENDOR && function.deviceId() == NPU2_DEVICE;
    }

    private static String sources(List<Member> members) {
        return members.stream().map(member -> member.hostdev().source().toString()).collect(Collectors.joining(", "));
    }

    private record Member(HostdevView hostdev, PciFunction function) {
    }

    /** The domain's PCI layout as this plan changes it: controller and target indices taken, slots used per bus. */
    private static final class Layout {
        private final Map<Integer, PciControllerView> controllers = new LinkedHashMap<>();
        private final Set<Integer> indices = new HashSet<>();
        private final Set<Integer> targetIndices = new HashSet<>();
        private final Map<Integer, Set<Integer>> usedSlots = new HashMap<>();
        private final int extraPhbs;

        Layout(DomainView domain) {
            List<PciControllerView> withoutTargetIndex = new ArrayList<>();
            for (PciControllerView controller : domain.pciControllers()) {
                controllers.put(controller.index(), controller);
                indices.add(controller.index());
                if (controller.isRoot() && controller.targetIndex().isPresent()) {
                    targetIndices.add(controller.targetIndex().getAsInt());
                } else if (controller.isRoot() && controller.index() != 0) {
                    withoutTargetIndex.add(controller);
                }
            }
            indices.add(0);
            targetIndices.add(0);
            // libvirt gives a PHB without a target index the lowest one (from 1) that no PHB has yet, taking
            // controllers in index order after every explicit one (qemuDomainAddressFindNewTargetIndex); the target
            // index need not equal the controller index. Taken here the same way, so ours never collide with them.
            withoutTargetIndex.stream().sorted(Comparator.comparingInt(PciControllerView::index)).forEach(controller -> takeTargetIndex());
            extraPhbs = (int) controllers.values().stream().filter(controller -> controller.isRoot() && controller.index() != 0).count();
            Set<PciAddress> hostdevSources = domain.pciHostdevs().stream().map(HostdevView::source).collect(Collectors.toSet());
            for (GuestDeviceView device : domain.guestPciDevices()) {
                boolean movableHostdev = device.hostdevSource().filter(hostdevSources::contains).isPresent() && phbOf(device.address().bus()) == 0;
                if (!movableHostdev) {
                    usedSlots.computeIfAbsent(device.address().bus(), key -> new TreeSet<>()).add(device.address().slot());
                }
            }
        }

        /** The extra PHB a hostdev's pinned address puts it on; empty when unpinned or on the default PHB. */
        Optional<Integer> userPhb(HostdevView hostdev) {
            return hostdev.guestAddress().map(address -> phbOf(address.bus())).filter(phb -> phb != 0);
        }

        /** Follows pci-bridges down to the pci-root they sit on; a bus no controller names is taken as its own PHB. */
        int phbOf(int bus) {
            int current = bus;
            for (int hops = 0; hops < 256; hops++) {
                PciControllerView controller = controllers.get(current);
                if (controller == null || controller.isRoot() || controller.address().isEmpty()) {
                    return current;
                }
                current = controller.address().get().bus();
            }
            return current;
        }

        int takeIndex() {
            int index = 1;
            while (indices.contains(index)) {
                index++;
            }
            indices.add(index);
            return index;
        }

        int takeTargetIndex() {
            int index = 1;
            while (targetIndices.contains(index)) {
                index++;
            }
            targetIndices.add(index);
            return index;
        }

        OptionalInt takeSlot(int bus) {
            Set<Integer> used = usedSlots.computeIfAbsent(bus, key -> new TreeSet<>());
            for (int slot = FIRST_SLOT; slot <= LAST_SLOT; slot++) {
                if (used.add(slot)) {
                    return OptionalInt.of(slot);
                }
            }
            return OptionalInt.empty();
        }

        /** The extra PHBs the user defined already. */
        int extraPhbs() {
            return extraPhbs;
        }
    }
}
