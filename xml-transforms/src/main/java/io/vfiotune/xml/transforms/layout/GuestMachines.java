package io.vfiotune.xml.transforms.layout;

import io.vfiotune.spi.DomainView;

import java.util.Optional;

/** What a domain's machine type means to the transforms. */
public final class GuestMachines {
    private GuestMachines() {
    }

    /**
     * Machines with PCIe root ports, switches and expander buses: q35 on x86 and
     * virt on ARM (libvirt's default there). i440fx has only conventional PCI.
     */
    public static boolean hasPcieControllers(DomainView domain) {
        String arch = domain.architecture().orElse("");
        Optional<String> machine = domain.machine();
        if (arch.equals("x86_64") || arch.equals("i686")) {
            return machine.filter(name -> name.equals("q35") || name.startsWith("pc-q35-")).isPresent();
        }
        if (arch.equals("aarch64") || arch.equals("armv7l")) {
            return machine.map(name -> name.equals("virt") || name.startsWith("virt-")).orElse(true);
        }
        return false;
    }

    /** libvirt's default machine for ppc64 is pseries, so an absent machine on that architecture counts. */
    public static boolean isPseries(DomainView domain) {
        return domain.machine().map(machine -> machine.startsWith("pseries"))
                .orElseGet(() -> domain.architecture().map(arch -> arch.startsWith("ppc64")).orElse(false));
    }
}
