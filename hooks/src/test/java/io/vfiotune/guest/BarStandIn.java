package io.vfiotune.guest;

import io.vfiotune.pci.PciBar;

import java.util.Optional;

/**
 * A {@code pci-testdev} standing in for one 64-bit prefetchable BAR of a planned
 * host function (see {@link GuestDomain#fromPlanWithBars}): its BAR 2
 * ({@code membar}) has the host BAR's size. {@code bar} is empty for a host
 * function without such a BAR, which still gets a pci-testdev (no BAR 2) so the
 * planned slot has the planned functions. {@code guestAddress} is where it goes:
 * the host function's planned address for its largest BAR, a free function of
 * the same slot for each further one.
 */
public record BarStandIn(StandIn standIn, Optional<PciBar> bar, StandIn.PlannedAddress guestAddress) {
    /** QEMU's Red Hat test device: vendor 0x1b36, device 0x0005; {@code membar} is its BAR 2. */
    public static final String VENDOR = "0x1b36";
    public static final String DEVICE = "0x0005";
    public static final int MEMBAR_INDEX = 2;

    /** The size QEMU's {@code membar} gets: the host BAR's, which is a power of two as every BAR is; 0 for none. */
    public long membar() {
        long size = bar.map(PciBar::size).orElse(0L);
        if (size != 0 && Long.bitCount(size) != 1) {
            throw new IllegalStateException("a BAR size is a power of two: " + size + " of " + standIn.hostAddress());
        }
        return size;
    }

    /**
     * The controller's libvirt alias: {@code pci.N} for controller index N, which the
     * planned address's bus is ({@code pcie.0} for q35's root).
     */
    public String busAlias() {
        return guestAddress.bus() == 0 ? "pcie.0" : "pci." + guestAddress.bus();
    }

    /**
     * The {@code -device} value, in JSON like libvirt's own: QEMU creates every
     * key=value {@code -device} before the JSON ones, so a key=value one would not
     * find the planned port (measured: "Bus 'pci.2' not found" on QEMU 7.2 and 10.0).
     */
    public String qemuDevice() {
        StringBuilder device = new StringBuilder("{\"driver\":\"pci-testdev\",\"bus\":\"").append(busAlias()).append("\",\"addr\":\"")
                .append(String.format("0x%x.0x%x", guestAddress.slot(), guestAddress.function())).append('"');
        if (guestAddress.multifunction()) {
            device.append(",\"multifunction\":true");
        }
        if (membar() > 0) {
            device.append(",\"membar\":").append(membar());
        }
        return device.append('}').toString();
    }

    /** The host function and BAR this one stands for, for tables. */
    public String describe() {
        return standIn.hostAddress() + bar.map(b -> " BAR" + b.index()).orElse(" (no 64-bit pref BAR)");
    }
}
