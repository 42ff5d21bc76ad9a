package io.vfiotune.spi;

import io.vfiotune.pci.PciAddress;

import java.util.Optional;

/**
 * A PCI {@code <hostdev>} of the domain.
 *
 * @param source the host function it passes through
 * @param alias the user alias ({@code ua-...}) when the definition has one
 * @param managed whether libvirt binds it to vfio-pci itself
 * @param guestAddress the guest address when the definition pins one
 * @param rom its {@code <rom>} element, when present
 */
public record HostdevView(PciAddress source, Optional<String> alias, boolean managed, Optional<GuestPciAddress> guestAddress, Optional<Rom> rom) {

    /** {@code <rom bar=... file=...>} as written. */
    public record Rom(Optional<String> bar, Optional<String> file) {
    }
}
