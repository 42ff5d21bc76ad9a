package io.vfiotune.xml.transforms;

import io.vfiotune.spi.DomainView;

/** What a domain's machine type means to the transforms. */
final class GuestMachines {
    private GuestMachines() {
    }

    /** libvirt's default machine for ppc64 is pseries, so an absent machine on that architecture counts. */
    static boolean isPseries(DomainView domain) {
        return domain.machine().map(machine -> machine.startsWith("pseries"))
                .orElseGet(() -> domain.architecture().map(arch -> arch.startsWith("ppc64")).orElse(false));
    }
}
