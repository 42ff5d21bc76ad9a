package io.vfiotune.xml.transforms.topology;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.platform.NcclPathType;
import io.vfiotune.platform.PcieLineage;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.PciControllerView;
import io.vfiotune.xml.transforms.topology.MirrorUnits.Unit;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * For every pair of a domain's passthrough devices: the path type NCCL finds on
 * the host and the one it will find in the guest the definition describes, with
 * each device's guest NUMA node. What {@code vfio-tune probe --domain} prints.
 */
public final class TopologyPairs {
    /**
     * @param guest empty when the definition does not place one of the two (libvirt will, at define time)
     */
    public record Pair(String a, String b, NcclPathType host, Optional<NcclPathType> guest) {
    }

    /**
     * @param guestAddress where the definition puts function 0 (libvirt's {@code bus} is a controller index)
     * @param guestNode the guest NUMA node of the expander bus the device sits below; empty on pcie.0 or an expander bus without one
     */
    public record Device(String name, List<PciAddress> functions, OptionalInt hostNode, Optional<String> guestAddress, OptionalInt guestNode) {
        public Device {
            functions = List.copyOf(functions);
        }
    }

    public record Table(List<Device> devices, List<Pair> pairs) {
    }

    private TopologyPairs() {
    }

    public static Table of(DomainView domain, HostTopology host) {
        List<Finding> ignored = new ArrayList<>();
        List<Unit> units = MirrorUnits.of(domain, host, ignored);
        GuestPcieTree tree = new GuestPcieTree(domain);
        List<Device> devices = new ArrayList<>();
        List<Optional<PcieLineage>> guest = new ArrayList<>();
        for (Unit unit : units) {
            Optional<PcieLineage> lineage = unit.guestAddress().flatMap(tree::lineage);
            Optional<PciControllerView> expander = unit.guestAddress().flatMap(address -> MirrorCheck.expanderAbove(address, tree));
            guest.add(lineage);
            devices.add(new Device(unit.describe(), unit.members().stream().map(member -> member.function().address()).toList(), unit.hostNode(), unit.guestAddress().map(Object::toString),
                    expander.map(PciControllerView::numaNode).orElse(OptionalInt.empty())));
        }
        List<Pair> pairs = new ArrayList<>();
        for (int i = 0; i < units.size(); i++) {
            for (int j = i + 1; j < units.size(); j++) {
                Optional<NcclPathType> inGuest = guest.get(i).isPresent() && guest.get(j).isPresent()
                        ? Optional.of(NcclPathType.between(guest.get(i).get(), guest.get(j).get())) : Optional.empty();
                pairs.add(new Pair(units.get(i).describe(), units.get(j).describe(), NcclPathType.between(units.get(i).lineage(), units.get(j).lineage()), inGuest));
            }
        }
        return new Table(devices, pairs);
    }
}
