package io.vfiotune.xml.transforms;

import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.PciBar;
import io.vfiotune.xml.transforms.MirrorUnits.Unit;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The guest's 64-bit MMIO window, sized from the real BARs of the mirrored
 * devices. Measured with pci-testdev stand-ins (a 64-bit prefetchable BAR of any
 * size) on q35 with 40 physical address bits, QEMU's default:
 * <ul>
 * <li>OVMF (Debian 12's 2022.11 and Debian 13's 2025.02) gives 64-bit BARs one
 * eighth of the address space, 128 GiB; more is left unassigned ("can't assign;
 * no space") until {@code opt/ovmf/X-PciMmio64Mb} raises it, to the next power of
 * two at or above the BARs (less left a BAR out); a window of half the space
 * failed on Debian 13's, a quarter worked on both. OVMF counts more than 40
 * bits only with 1 GiB pages in the CPU, and at most 46;</li>
 * <li>SeaBIOS sizes its window to fit: 1.16.2 (QEMU 7.2) anywhere below the top,
 * 1.16.3 (QEMU 10.0) left BARs out past about a quarter to half of the space;
 * both follow {@code phys-bits}.</li>
 * <li>{@code pref64-reserve} on root ports only reserves room for hotplug, and
 * {@code pci-hole64-size} does not move either firmware: neither is written.</li>
 * </ul>
 * Firmware puts each root port's window on a boundary of its largest BAR, so the
 * need is the extent of those windows packed largest alignment first, not the
 * plain sum of the BARs.
 */
final class Mmio64Window {
    static final String OVMF_MMIO64 = "opt/ovmf/X-PciMmio64Mb";
    static final int QEMU_DEFAULT_PHYS_BITS = 40;
    static final int OVMF_MAX_PHYS_BITS = 46;
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;

    private Mmio64Window() {
    }

    /** Adds the fw_cfg edit an OVMF guest needs, or the finding when the guest's address space cannot hold the BARs. */
    static void plan(DomainView domain, List<List<Unit>> rootPortGroups, List<DomainEdit> edits, List<Finding> findings) {
        List<long[]> bridgeWindows = new ArrayList<>();
        List<String> windows = new ArrayList<>();
        for (List<Unit> group : rootPortGroups) {
            List<Long> bars = group.stream().flatMap(unit -> unit.members().stream()).flatMap(member -> member.function().bars().stream())
                    .filter(bar -> bar.kind() == PciBar.Kind.MEMORY_64 && bar.prefetchable() && bar.size() > 0).map(PciBar::size).toList();
            if (!bars.isEmpty()) {
                long sum = bars.stream().mapToLong(Long::longValue).sum();
                // a bridge window is a multiple of 1 MiB, on a boundary of its largest BAR
                bridgeWindows.add(new long[] {bars.stream().mapToLong(Long::longValue).max().orElseThrow(), (sum + MIB - 1) / MIB * MIB});
                windows.add(size(sum) + " for " + MirrorUnits.describe(group));
            }
        }
        // Largest alignment first, as firmware places them: the gaps are what a sum would miss.
        bridgeWindows.sort((a, b) -> a[0] != b[0] ? Long.compare(b[0], a[0]) : Long.compare(b[1], a[1]));
        long need = 0;
        for (long[] window : bridgeWindows) {
            need = (need + window[0] - 1) / window[0] * window[0] + window[1];
        }
        if (need == 0) {
            return;
        }
        String subject = "domain " + domain.name();
        String needs = "the passthrough devices need " + size(need) + " of 64-bit MMIO (" + String.join(", ", windows) + ")";
        if (domain.hostPhysicalAddressBits() && domain.physicalAddressBits().isEmpty()) {
            findings.add(Finding.info("TOPOLOGY-MMIO64", subject, needs + "; the guest takes the host's physical address width, which firmware sizes its window from, so nothing is set"));
            return;
        }
        int bits = domain.physicalAddressBits().orElse(QEMU_DEFAULT_PHYS_BITS);
        long window = powerOfTwoAtLeast(need);
        if (domain.uefiFirmware()) {
            // OVMF uses more than 40 bits only with 1 GiB pages, and at most 46 (edk2 PlatformInitLib; measured).
            int ovmfBits = domain.cpuHasGigabytePages() ? Math.min(bits, OVMF_MAX_PHYS_BITS) : QEMU_DEFAULT_PHYS_BITS;
            long space = 1L << ovmfBits;
            long aperture = space / 8;
            if (need <= aperture) {
                findings.add(Finding.info("TOPOLOGY-MMIO64", subject, needs + ", within the " + size(aperture) + " OVMF gives 64-bit BARs with " + ovmfBits + " address bits"));
                return;
            }
            if (window > space / 4) {
                findings.add(Finding.error("TOPOLOGY-MMIO-PHYS-BITS", subject, needs + ", and OVMF with " + ovmfBits + " address bits gives " + size(aperture)
                        + " by default and places no larger window than " + size(space / 4) + " (a " + size(space / 2) + " one was measured to fail), so BARs would be"
                        + " left unassigned; OVMF uses more than 40 bits only when the CPU has 1 GiB pages: <cpu mode='host-passthrough'> with"
                        + " <maxphysaddr mode='passthrough'/> (KVM), or <cpu mode='maximum'> with <maxphysaddr mode='emulate' bits='46'/>"));
                return;
            }
            edits.add(new DomainEdit.SetFirmwareConfig(OVMF_MMIO64, Long.toString(window / MIB)));
            findings.add(Finding.info("TOPOLOGY-MMIO64", subject, needs + ", more than the " + size(aperture) + " OVMF gives 64-bit BARs with " + ovmfBits
                    + " address bits: " + OVMF_MMIO64 + "=" + window / MIB + " (" + size(window) + ", the power of two that holds them; a smaller value was measured to leave BARs out)"));
            return;
        }
        long space = 1L << Math.min(bits, 62);
        if (window > space / 4) {
            findings.add(Finding.warning("TOPOLOGY-MMIO-PHYS-BITS", subject, needs + ", more than a quarter of the " + size(space) + " a guest with " + bits
                    + " physical address bits has; SeaBIOS 1.16.3 (QEMU 10.0) was measured to leave BARs unassigned past about that, 1.16.2 (QEMU 7.2) fits them;"
                    + " give the guest more address bits: <maxphysaddr mode='passthrough'/> (KVM) or <maxphysaddr mode='emulate' bits='46'/>"));
        }
    }

    private static long powerOfTwoAtLeast(long value) {
        long power = 1;
        while (power < value) {
            power <<= 1;
        }
        return power;
    }

    static String size(long bytes) {
        if (bytes >= 1024 * GIB && bytes % (1024 * GIB) == 0) {
            return bytes / (1024 * GIB) + " TiB";
        }
        if (bytes >= GIB) {
            return bytes % GIB == 0 ? bytes / GIB + " GiB" : String.format(Locale.ROOT, "%.2f GiB", (double) bytes / GIB);
        }
        return String.format(Locale.ROOT, "%d MiB", (bytes + MIB - 1) / MIB);
    }
}
