package io.vfiotune.pci;

import io.vfiotune.spi.Finding;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Everything the probe learned about one host PCI function. Fields the host
 * did not tell are empty; what went wrong while reading is in {@link #faults()}.
 *
 * @param upstream the bridges above this function, nearest first
 * @param rootComplex the host bridge the function hangs off, named like its sysfs directory ({@code pci0000:80})
 * @param nvlinks functions joined to this one by NVLink2 (POWER9 V100 and its NPU links), sorted
 * @param configBytes how many bytes of config space could be read (64 for non-root, 256 or 4096)
 * @param subsystem subsystem vendor and device as {@code vendor << 16 | device}, from sysfs (for a bridge
 *        Linux reads it from the Subsystem ID capability); empty when sysfs does not say
 * @param dvsecs the Designated Vendor-Specific extended capabilities, in walk order (each is also in
 *        {@code capabilities} as extended capability 0x0023)
 */
public record PciFunction(
        PciAddress address,
        int vendorId,
        int deviceId,
        int classCode,
        OptionalInt numaNode,
        OptionalInt iommuGroup,
        Optional<String> driver,
        List<PciBar> bars,
        List<PciCapability> capabilities,
        Optional<MsixLayout> msix,
        Optional<PciePortType> portType,
        Optional<AcsControl> acs,
        List<PciAddress> upstream,
        String rootComplex,
        List<PciAddress> nvlinks,
        int configBytes,
        List<Finding> faults,
        OptionalInt subsystem,
        List<PciDvsec> dvsecs) {

    public static final int VENDOR_NVIDIA = 0x10de;
    public static final int VENDOR_INTEL = 0x8086;

    public PciFunction {
        bars = List.copyOf(bars);
        capabilities = List.copyOf(capabilities);
        upstream = List.copyOf(upstream);
        nvlinks = List.copyOf(nvlinks);
        faults = List.copyOf(faults);
        requireNonNull(subsystem, "subsystem is null");
        dvsecs = List.copyOf(dvsecs);
    }

    /** Without DVSECs: callers that never look at them. */
    public PciFunction(PciAddress address, int vendorId, int deviceId, int classCode, OptionalInt numaNode, OptionalInt iommuGroup,
            Optional<String> driver, List<PciBar> bars, List<PciCapability> capabilities, Optional<MsixLayout> msix,
            Optional<PciePortType> portType, Optional<AcsControl> acs, List<PciAddress> upstream, String rootComplex,
            List<PciAddress> nvlinks, int configBytes, List<Finding> faults, OptionalInt subsystem) {
        this(address, vendorId, deviceId, classCode, numaNode, iommuGroup, driver, bars, capabilities, msix, portType, acs, upstream,
                rootComplex, nvlinks, configBytes, faults, subsystem, List.of());
    }

    /** Without a subsystem ID: transforms and tests that never look at it. */
    public PciFunction(PciAddress address, int vendorId, int deviceId, int classCode, OptionalInt numaNode, OptionalInt iommuGroup,
            Optional<String> driver, List<PciBar> bars, List<PciCapability> capabilities, Optional<MsixLayout> msix,
            Optional<PciePortType> portType, Optional<AcsControl> acs, List<PciAddress> upstream, String rootComplex,
            List<PciAddress> nvlinks, int configBytes, List<Finding> faults) {
        this(address, vendorId, deviceId, classCode, numaNode, iommuGroup, driver, bars, capabilities, msix, portType, acs, upstream,
                rootComplex, nvlinks, configBytes, faults, OptionalInt.empty(), List.of());
    }

    /** The first DVSEC with this DVSEC vendor and ID, as Linux's pci_find_dvsec_capability() finds it. */
    public Optional<PciDvsec> dvsec(int dvsecVendorId, int dvsecId) {
        return dvsecs.stream().filter(dvsec -> dvsec.vendorId() == dvsecVendorId && dvsec.dvsecId() == dvsecId).findFirst();
    }

    /** Config byte 0x0B. */
    public int baseClass() {
        return (classCode >> 16) & 0xff;
    }

    public Optional<PciBar> bar(int index) {
        return bars.stream().filter(bar -> bar.index() == index).findFirst();
    }

    public Optional<PciCapability> capability(int id, boolean extended) {
        return capabilities.stream().filter(cap -> cap.id() == id && cap.extended() == extended).findFirst();
    }

    /**
     * True when no standard capability overlaps {@code size} bytes at {@code offset}
     * (probe --json shows it as {@code cliqueRoom}). QEMU itself looks only at where capabilities
     * start; {@link io.vfiotune.platform.GpuDirectCliquePlacement} says where it really puts the clique.
     */
    public boolean isConfigRangeFree(int offset, int size) {
        return configBytes >= 0x100 && capabilities.stream().noneMatch(cap -> !cap.extended() && cap.overlaps(offset, size));
    }
}
