package io.vfiotune.xml.transforms.topology;

import io.vfiotune.pci.PciBar;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.xml.transforms.layout.BridgeWindow;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The guest's 64-bit MMIO window, sized from the real BARs of the mirrored
 * devices. Measured with pci-testdev stand-ins (a 64-bit prefetchable BAR of any
 * size) on q35 with 40 physical address bits, QEMU's default:
 * <ul>
 * <li>OVMF (Debian 12's 2022.11 and Debian 13's 2025.02) gives 64-bit BARs one
 * eighth of the address space, 128 GiB; more is left unassigned ("can't assign;
 * no space") until {@code opt/ovmf/X-PciMmio64Mb} raises it, to the next power of
 * two at or above the BARs (less left a BAR out); a window of half the space
 * failed on Debian 13's, a quarter worked on both, and one that does not fit the
 * address width OVMF uses hangs it. OVMF counts more than 40 bits only with 1 GiB
 * pages in the CPU, and at most 46;</li>
 * <li>SeaBIOS sizes its window to fit: 1.16.2 (QEMU 7.2) anywhere below the top,
 * 1.16.3 (QEMU 10.0) left BARs out past about a quarter to half of the space;
 * both follow {@code phys-bits}.</li>
 * <li>{@code pref64-reserve} on root ports only reserves room for hotplug, and
 * {@code pci-hole64-size} does not move either firmware: neither is written.</li>
 * </ul>
 * The need is computed the way firmware packs bridge windows ({@link BridgeWindow}):
 * every root port's window the same way as a bridge's.
 */
final class Mmio64Window {
    static final String OVMF_MMIO64 = "opt/ovmf/X-PciMmio64Mb";
    static final int QEMU_DEFAULT_PHYS_BITS = 40;
    static final int OVMF_MAX_PHYS_BITS = 46;
    private static final long MIB = 1L << 20;

    private Mmio64Window() {
    }

    /** Adds the fw_cfg edit an OVMF guest needs, or the finding when the guest's address space cannot hold the BARs. */
    static void plan(DomainView domain, List<MirrorNode> rootPorts, List<DomainEdit> edits, List<Finding> findings) {
        List<BridgeWindow> windows = new ArrayList<>();
        List<String> described = new ArrayList<>();
        for (MirrorNode rootPort : rootPorts) {
            Optional<BridgeWindow> window = window(rootPort);
            if (window.isPresent()) {
                windows.add(window.get());
                described.add(BridgeWindow.size(window.get().length()) + " for " + MirrorUnits.describe(rootPort.units()));
            }
        }
        if (windows.isEmpty()) {
            return;
        }
        long need = BridgeWindow.pack(windows).length();
        String subject = "domain " + domain.name();
        String needs = "the passthrough devices need " + BridgeWindow.size(need) + " of 64-bit MMIO (root port windows: " + String.join(", ", described) + ")";
        if (domain.hostPhysicalAddressBits() && domain.physicalAddressBits().isEmpty()) {
            findings.add(Finding.info("TOPOLOGY-MMIO64", subject, needs + "; the guest takes the host's physical address width, which firmware sizes its window from, so nothing is set"));
            return;
        }
        int bits = domain.physicalAddressBits().orElse(QEMU_DEFAULT_PHYS_BITS);
        long window = BridgeWindow.powerOfTwoAtLeast(need);
        String moreBits = "<cpu mode='host-passthrough'> with <maxphysaddr mode='passthrough'/> (KVM), or <cpu mode='maximum'> or 'host-model' with"
                + " <maxphysaddr mode='emulate' bits='46'/>";
        if (domain.uefiFirmware()) {
            Optional<Boolean> gigabytePages = domain.cpuGigabytePages();
            // OVMF uses more than 40 bits only with 1 GiB pages, and at most 46 (edk2 PlatformInitLib; measured).
            int ovmfBits = gigabytePages.orElse(false) ? Math.min(bits, OVMF_MAX_PHYS_BITS) : QEMU_DEFAULT_PHYS_BITS;
            long space = 1L << ovmfBits;
            long aperture = space / 8;
            if (need <= aperture) {
                findings.add(Finding.info("TOPOLOGY-MMIO64", subject, needs + ", within the " + BridgeWindow.size(aperture) + " OVMF gives 64-bit BARs with " + ovmfBits + " address bits"));
                return;
            }
            if (window > space / 4) {
                String problem = needs + ", and OVMF with " + ovmfBits + " address bits gives " + BridgeWindow.size(aperture) + " by default and places no larger window than "
                        + BridgeWindow.size(space / 4) + " (a " + BridgeWindow.size(space / 2) + " one was measured to fail, and one that does not fit hangs it), so BARs would be left unassigned";
                if (gigabytePages.isEmpty() && bits > QEMU_DEFAULT_PHYS_BITS && window <= (1L << Math.min(bits, OVMF_MAX_PHYS_BITS)) / 4) {
                    // enough with 1 GiB pages, which the named model may or may not have: nothing safe to write
                    findings.add(Finding.warning("TOPOLOGY-MMIO-PHYS-BITS", subject, problem + " unless the CPU model has 1 GiB pages (pdpe1gb), which vfio-tune"
                            + " cannot tell for a named model; require it with <feature policy='require' name='pdpe1gb'/>, or use " + moreBits));
                    return;
                }
                findings.add(Finding.error("TOPOLOGY-MMIO-PHYS-BITS", subject, problem + "; OVMF uses more than 40 bits only when the CPU has 1 GiB pages: " + moreBits));
                return;
            }
            edits.add(new DomainEdit.SetFirmwareConfig(OVMF_MMIO64, Long.toString(window / MIB)));
            findings.add(Finding.info("TOPOLOGY-MMIO64", subject, needs + ", more than the " + BridgeWindow.size(aperture) + " OVMF gives 64-bit BARs with " + ovmfBits
                    + " address bits: " + OVMF_MMIO64 + "=" + window / MIB + " (" + BridgeWindow.size(window) + ", the power of two that holds them; a smaller value was measured to leave BARs out)"));
            return;
        }
        long space = 1L << Math.min(bits, 62);
        if (window > space / 4) {
            findings.add(Finding.warning("TOPOLOGY-MMIO-PHYS-BITS", subject, needs + ", more than a quarter of the " + BridgeWindow.size(space) + " a guest with " + bits
                    + " physical address bits has; SeaBIOS 1.16.3 (QEMU 10.0) was measured to leave BARs unassigned past about that, 1.16.2 (QEMU 7.2) fits them;"
                    + " give the guest more address bits: <maxphysaddr mode='passthrough'/> (KVM) or <maxphysaddr mode='emulate' bits='46'/>"));
        }
    }

    /** The window a port needs for what is below it: a device's 64-bit prefetchable BARs, or a switch's downstream port windows. */
    private static Optional<BridgeWindow> window(MirrorNode node) {
        List<BridgeWindow> children = new ArrayList<>();
        if (node instanceof MirrorNode.Device device) {
            device.unit().members().stream().flatMap(member -> member.function().bars().stream())
                    .filter(bar -> bar.kind() == PciBar.Kind.MEMORY_64 && bar.prefetchable() && bar.size() > 0)
                    .forEach(bar -> children.add(BridgeWindow.bar(bar.size())));
        } else {
            for (MirrorNode child : ((MirrorNode.Switch) node).children()) {
                window(child).ifPresent(children::add);
            }
        }
        return children.isEmpty() ? Optional.empty() : Optional.of(BridgeWindow.pack(children));
    }
}
