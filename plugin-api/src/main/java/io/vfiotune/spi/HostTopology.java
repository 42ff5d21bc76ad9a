package io.vfiotune.spi;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciFunction;

import java.util.List;
import java.util.Optional;

/**
 * The host as vfio-tune sees it. Implementations read lazily: asking for a
 * function reads that function, its parents and its group, nothing else.
 */
public interface HostTopology {
    /** The function at {@code address}, or empty when the host has no such device. */
    Optional<PciFunction> function(PciAddress address);

    /** Members of an IOMMU group, sorted. Empty when the host has no such group. */
    List<PciAddress> iommuGroupMembers(int group);

    /**
     * Whether the host's vfio-pci gives guests VGA access, from
     * {@code /sys/module/vfio_pci/parameters/disable_vga}. Read on first use.
     */
    default VfioVgaAccess vfioVgaAccess() {
        return VfioVgaAccess.UNKNOWN;
    }

    HostFacts facts();
}
