package io.vfiotune.xml.transforms;

import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.PciFunction;

import java.util.List;
import java.util.Optional;

/**
 * The checks every transform makes before it configures a hostdev: the host
 * function must exist, and it must be (or become) bound to vfio-pci.
 */
final class PassthroughDevices {
    static final String VFIO_PCI = "vfio-pci";

    private PassthroughDevices() {
    }

    /**
     * The host function behind {@code hostdev}, adding a refusal when it is missing
     * and a finding when it is not bound to vfio-pci: a warning when libvirt binds
     * it at start ({@code managed='yes'}), a refusal otherwise, since QEMU would fail.
     */
    static Optional<PciFunction> resolve(HostdevView hostdev, HostTopology host, String purpose, List<Finding> findings) {
        Optional<PciFunction> function = host.function(hostdev.source());
        String subject = hostdev.source().toString();
        if (function.isEmpty()) {
            findings.add(Finding.error("HOSTDEV-MISSING", subject, "this host has no such PCI function, so " + purpose
                    + " cannot be checked; fix the <hostdev> source address or run on the host that has the device"));
            return Optional.empty();
        }
        String driver = function.get().driver().orElse("no driver");
        if (!driver.equals(VFIO_PCI)) {
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
