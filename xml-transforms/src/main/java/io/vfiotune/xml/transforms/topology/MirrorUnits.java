package io.vfiotune.xml.transforms.topology;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.platform.IntelGraphics;
import io.vfiotune.platform.PcieLineage;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.GuestPciAddress;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.xml.transforms.layout.PassthroughDevices;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** The domain's passthrough devices as the mirror places them: one unit per host device, its functions together. */
final class MirrorUnits {
    private MirrorUnits() {
    }

    record Member(HostdevView hostdev, PciFunction function) {
    }

    /**
     * The functions of one host device the domain passes through. They share one
     * guest slot, multifunction like on the host, because NCCL and drivers take the
     * functions of one device as one PCI link.
     *
     * @param slot the host device's function 0 address, whether or not the domain passes function 0
     */
    record Unit(PciAddress slot, List<Member> members, PcieLineage lineage, OptionalInt hostNode) {
        Unit {
            members = List.copyOf(members);
        }

        /** Whether the definition pins a function somewhere other than libvirt's default root port on pcie.0. */
        boolean pinnedBy(GuestPcieTree tree) {
            return members.stream().anyMatch(member -> isPinned(member, tree));
        }

        /** Whether some functions are pinned and others not: neither a layout to keep nor one to plan. */
        boolean partlyPinnedBy(GuestPcieTree tree) {
            return pinnedBy(tree) && !members.stream().allMatch(member -> isPinned(member, tree));
        }

        private static boolean isPinned(Member member, GuestPcieTree tree) {
            return member.hostdev().guestAddress().filter(address -> !tree.isRootPortOnMainBus(address.bus())).isPresent();
        }

        Optional<GuestPciAddress> guestAddress() {
            return members.get(0).hostdev().guestAddress();
        }

        /** The guest function numbers are the host's when function 0 comes along, else 0, 1, ... in host order (a slot needs function 0). */
        List<DomainEdit> pin(int bus, int slot) {
            boolean keepFunctions = members.stream().anyMatch(member -> member.function().address().function() == 0);
            List<DomainEdit> edits = new ArrayList<>();
            for (int i = 0; i < members.size(); i++) {
                int function = keepFunctions ? members.get(i).function().address().function() : i;
                edits.add(new DomainEdit.SetGuestAddress(members.get(i).hostdev().source(), new GuestPciAddress(0, bus, slot, function),
                        function == 0 && members.size() > 1));
            }
            return edits;
        }

        String describe() {
            if (members.size() == 1) {
                return members.get(0).function().address().toString();
            }
            return members.get(0).function().address() + members.subList(1, members.size()).stream()
                    .map(member -> "+" + member.function().address().function()).collect(Collectors.joining());
        }
    }

    /** The units of the domain's hostdevs, in host address order; an IGD that vt:igd places at 00:02.0 is left to it. */
    static List<Unit> of(DomainView domain, HostTopology host, List<Finding> findings) {
        Map<PciAddress, List<Member>> bySlot = new TreeMap<>();
        for (HostdevView hostdev : domain.pciHostdevs()) {
            Optional<PciFunction> function = PassthroughDevices.resolve(hostdev, host, "its place in the host's PCIe tree", PassthroughDevices.Needs.HEADER, findings);
            if (function.isEmpty()) {
                continue;
            }
            if (domain.annotations().igd() != TuneAnnotations.IgdMode.OFF && isIgd(function.get())) {
                continue;
            }
            PciAddress address = function.get().address();
            bySlot.computeIfAbsent(new PciAddress(address.domain(), address.bus(), address.slot(), 0), key -> new ArrayList<>())
                    .add(new Member(hostdev, function.get()));
        }
        List<Unit> units = new ArrayList<>();
        bySlot.forEach((slot, members) -> {
            List<Member> sorted = members.stream().sorted(Comparator.comparing(member -> member.function().address())).toList();
            PciFunction first = sorted.get(0).function();
            units.add(new Unit(slot, sorted, PcieLineage.ofHost(first, host), first.numaNode()));
        });
        return units;
    }

    private static boolean isIgd(PciFunction function) {
        return function.address().equals(IntelGraphics.HOST_ADDRESS) && function.vendorId() == PciFunction.VENDOR_INTEL && function.baseClass() == 0x03;
    }

    static String describe(List<Unit> units) {
        return units.stream().map(Unit::describe).collect(Collectors.joining(", "));
    }
}
