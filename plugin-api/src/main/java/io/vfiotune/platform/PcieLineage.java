package io.vfiotune.platform;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.spi.HostTopology;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * Where a PCI device sits, as its sysfs path shows it: the root bus, the bridges
 * from the root down, and its NUMA node. Host functions and guest devices are
 * described alike, so the host's path types and the ones a guest layout gives can
 * be compared by the same rule.
 *
 * @param root the root bus ({@code pci0000:00} on a host, a controller on a guest)
 * @param bridges the bridges above the device, root port first; ids are unique within one side
 * @param numaNode the device's node ({@code numa_node}); empty for -1
 */
public record PcieLineage(String root, List<Bridge> bridges, OptionalInt numaNode) {
    /** Broadcom PEX88xxx (Gen4) in base mode: vendor 1000, device c010, subsystem 1000:a0xx. */
    private static final long BROADCOM_GEN4_SWITCH = 0x1000c0101000a000L;
    /** Broadcom PEX89xxx (Gen5): the subsystem device names the level (0x0000 upper, 0x1000 lower). */
    private static final long BROADCOM_GEN5_SWITCH = 0x1000c03010000000L;
    private static final long BROADCOM_ID_MASK = 0xfffffffffffff000L;

    /**
     * One bridge on the path.
     *
     * @param id unique within its side: the host address, or a guest controller's index
     * @param pciId vendor, device, subsystem vendor and subsystem device in one number, as NCCL keys a switch
     *        ({@code vendor << 48 | device << 32 | subsystem}); 0 when unknown (guest controllers)
     */
    public record Bridge(String id, long pciId) {
        public Bridge {
            requireNonNull(id, "id is null");
        }
    }

    public PcieLineage {
        requireNonNull(root, "root is null");
        bridges = List.copyOf(bridges);
        requireNonNull(numaNode, "numaNode is null");
    }

    /** A host function's lineage from the probe. */
    public static PcieLineage ofHost(PciFunction function, HostTopology host) {
        List<Bridge> bridges = new ArrayList<>();
        for (int i = function.upstream().size() - 1; i >= 0; i--) {
            PciAddress address = function.upstream().get(i);
            long pciId = host.function(address).map(PcieLineage::pciId).orElse(0L);
            bridges.add(new Bridge(address.toString(), pciId));
        }
        return new PcieLineage(function.rootComplex(), bridges, function.numaNode());
    }

    static long pciId(PciFunction function) {
        return ((long) function.vendorId() << 48) | ((long) function.deviceId() << 32) | (function.subsystem().orElse(0) & 0xffffffffL);
    }

    /**
     * The PCIe switches NCCL puts above the device, top first. NCCL's parent of a
     * device is the bridge two levels up its sysfs path (a switch's upstream port:
     * the downstream port between is skipped), and a root port is never a node: the
     * walk meets the root bus first. Broadcom Gen4/Gen5 switches show two levels of
     * ports for one chip; NCCL merges the lower level into the upper one
     * ({@code ncclTopoFlattenBcmSwitches}), once per upper switch.
     */
    public List<String> ncclSwitches() {
        List<Bridge> switches = new ArrayList<>();
        for (int parent = bridges.size() - 2; parent >= 0; parent -= 2) {
            switches.add(0, bridges.get(parent));
        }
        List<String> flattened = new ArrayList<>();
        for (int i = 0; i < switches.size(); i++) {
            Bridge upper = switches.get(i);
            flattened.add(upper.id());
            int generation = broadcomGeneration(upper.pciId(), 0);
            if (generation > 0 && i + 1 < switches.size() && broadcomGeneration(switches.get(i + 1).pciId(), 1) == generation) {
                i++;
            }
        }
        return List.copyOf(flattened);
    }

    private static int broadcomGeneration(long pciId, int level) {
        if ((pciId & BROADCOM_ID_MASK) == BROADCOM_GEN4_SWITCH) {
            return 4;
        }
        if ((pciId & BROADCOM_ID_MASK) == (BROADCOM_GEN5_SWITCH | (long) level * 0x1000)) {
            return 5;
        }
        return 0;
    }
}
