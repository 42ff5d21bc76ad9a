package io.vfiotune.spi;

import io.vfiotune.pci.PciAddress;

import java.util.Optional;

/**
 * Any device of the domain pinned to a guest PCI address: hostdevs, disks,
 * NICs, controllers, video. Placement planners read these to find free slots
 * and to tell what they would have to move.
 *
 * @param element the element name under {@code <devices>}, e.g. {@code interface}
 * @param alias the device alias, when the definition has one
 * @param multifunction whether the address says {@code multifunction='on'}
 * @param hostdevSource the host function, when the device is a PCI hostdev
 */
public record GuestDeviceView(
        String element,
        Optional<String> alias,
        GuestPciAddress address,
        boolean multifunction,
        Optional<PciAddress> hostdevSource) {

    /** How a message names the device: {@code <interface> at 0000:00:02.0}. */
    public String describe() {
        return "<" + element + ">" + alias.map(name -> " '" + name + "'").orElse("") + " at " + address;
    }
}
