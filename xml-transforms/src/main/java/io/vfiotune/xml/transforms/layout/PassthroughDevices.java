package io.vfiotune.xml.transforms.layout;

import io.vfiotune.pci.PciFunction;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The checks every transform makes before it configures a hostdev: the host
 * function must exist, and it must be (or become) bound to vfio-pci.
 */
public final class PassthroughDevices {
    static final String VFIO_PCI = "vfio-pci";

    /** What a transform reads of the device, so only the probe faults that spoil that refuse it. */
    public enum Needs {
        /** vendor, device and class (IGD) or only the device's existence and group (sPAPR). */
        HEADER(Set.of("PROBE-ALL-FF", "PROBE-UNREADABLE", "PROBE-VANISHED", "PROBE-OUTSIDE-ROOT")),
        /** the capability list (cliques). */
        CAPABILITIES(Set.of("PROBE-ALL-FF", "PROBE-UNREADABLE", "PROBE-VANISHED", "PROBE-OUTSIDE-ROOT",
                "PROBE-CAP-LOOP", "PROBE-CAP-POINTER", "PROBE-SHORT-CONFIG", "PROBE-HEADER-ONLY")),
        /** the capability list and the BAR sizes (MSI-X relocation). */
        CAPABILITIES_AND_BARS(Set.of("PROBE-ALL-FF", "PROBE-UNREADABLE", "PROBE-VANISHED", "PROBE-OUTSIDE-ROOT",
                "PROBE-CAP-LOOP", "PROBE-CAP-POINTER", "PROBE-SHORT-CONFIG", "PROBE-HEADER-ONLY", "PROBE-NO-RESOURCE", "PROBE-BAD-RESOURCE"));

        private final Set<String> spoilingFaults;

        Needs(Set<String> spoilingFaults) {
            this.spoilingFaults = spoilingFaults;
        }
    }

    private PassthroughDevices() {
    }

    /**
     * The host function behind {@code hostdev}, adding a refusal when it is missing
     * and a finding when it is not bound to vfio-pci: a warning when libvirt binds
     * it at start ({@code managed='yes'}), a refusal otherwise, since QEMU would fail.
     */
    /** The first probe fault of {@code function} that spoils what {@code needs} reads. */
    public static Optional<Finding> spoilingFault(PciFunction function, Needs needs) {
        return function.faults().stream().filter(fault -> needs.spoilingFaults.contains(fault.code())).findFirst();
    }

    /**
     * vfio-pci, or a vfio-pci variant driver (nvgrace_gpu_vfio_pci, mlx5_vfio_pci, ...): QEMU opens
     * either through the device's VFIO group, and the variant adds what the device needs (Grace's memory BARs).
     */
    static boolean isVfioDriver(String driver) {
        return driver.equals(VFIO_PCI) || driver.endsWith("_vfio_pci");
    }

    public static Optional<PciFunction> resolve(HostdevView hostdev, HostTopology host, String purpose, Needs needs, List<Finding> findings) {
        Optional<PciFunction> function = host.function(hostdev.source());
        String subject = hostdev.source().toString();
        if (function.isEmpty()) {
            findings.add(Finding.error("HOSTDEV-MISSING", subject, "this host has no such PCI function, so " + purpose
                    + " cannot be checked; fix the <hostdev> source address or run on the host that has the device"));
            return Optional.empty();
        }
        // Deciding from a config space the probe could not read whole would be guessing; say what spoiled it.
        Optional<Finding> spoiled = spoilingFault(function.get(), needs);
        if (spoiled.isPresent()) {
            findings.add(Finding.error("HOSTDEV-UNREADABLE", subject, "the probe could not read what " + purpose + " depends on ["
                    + spoiled.get().code() + ": " + spoiled.get().message() + "]; run as root, and check the device with 'vfio-tune probe " + subject + "'"));
            return Optional.empty();
        }
        if (function.get().iommuGroup().isEmpty()) {
            findings.add(Finding.warning("HOSTDEV-NO-GROUP", subject, "the host puts this device in no IOMMU group, so VFIO cannot open it and the domain"
                    + " will not start here; turn the IOMMU on (intel_iommu=on or amd_iommu=on)"));
        }
        String driver = function.get().driver().orElse("no driver");
        if (!isVfioDriver(driver)) {
            if (hostdev.managed()) {
                findings.add(Finding.warning("HOSTDEV-NOT-VFIO", subject, "bound to " + driver + "; libvirt will rebind it to vfio-pci at start (managed='yes')"));
            } else {
                findings.add(Finding.error("HOSTDEV-NOT-VFIO", subject, "bound to " + driver + " and managed='no', so QEMU cannot open it; bind it to vfio-pci"
                        + " (driverctl set-override " + subject + " vfio-pci) or set managed='yes'"));
            }
        }
        return function;
    }
}
