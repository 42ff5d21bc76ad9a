package io.vfiotune.guest;

import java.util.Optional;

/**
 * An emulated PCI device put where the plan put a host device: same guest
 * address, same alias. {@code guestAddress} is the planned {@code <address>} as
 * libvirt writes it ({@code domain:bus:slot.function} of the controller indexes,
 * with {@code bus} the libvirt controller index, not yet the guest's bus number),
 * empty when the plan left placement to libvirt.
 */
public record StandIn(String hostAddress, Optional<String> alias, Optional<PlannedAddress> guestAddress) {

    /** A planned {@code <address type='pci'>}: bus is the libvirt controller index. */
    public record PlannedAddress(int domain, int bus, int slot, int function, boolean multifunction) {
        @Override
        public String toString() {
            return String.format("%04x:%02x:%02x.%x", domain, bus, slot, function);
        }
    }
}
