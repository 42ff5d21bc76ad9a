package io.vfiotune.xml.transforms.igd;

import io.vfiotune.pci.PciFunction;
import io.vfiotune.platform.IntelGraphics;
import io.vfiotune.platform.VfioPciProperty;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainTransform;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.GuestDeviceView;
import io.vfiotune.spi.GuestPciAddress;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.TransformResult;
import io.vfiotune.spi.TuneAnnotations.IgdMode;
import io.vfiotune.spi.Version;
import io.vfiotune.spi.VfioVgaAccess;
import io.vfiotune.xml.transforms.layout.PassthroughDevices;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Intel IGD placement. Legacy mode (the VBIOS path, so the guest's firmware and
 * early boot show on the IGD) only engages when every precondition QEMU checks
 * holds: i440fx, guest 00:02.0, a ROM, VGA class, a device ID this QEMU's table
 * puts in generation 6-9, VGA access through the host's vfio-pci, no other
 * display, and 00:1f.0 free for the LPC bridge QEMU creates. Before 10.0 QEMU
 * falls back to universal passthrough silently when one is missing (and 10.0
 * only logs it), so this transform checks them up front and says which one
 * failed, and on QEMU >= 10.0 sets x-igd-legacy-mode=on so a precondition it
 * cannot see from here stops the start instead. A UEFI guest never gets legacy
 * mode: QEMU only ever gets a BIOS VBIOS (its own comment: "a UEFI VM would need
 * CSM support"), and upstream OVMF does not set up the OpRegion. Universal
 * passthrough (UPT) is what q35 and UEFI guests get.
 */
public final class IgdTransform implements DomainTransform {
    static final GuestPciAddress LEGACY_ADDRESS = new GuestPciAddress(0, 0, 2, 0);
    static final int LPC_SLOT = 0x1f;

    @Override
    public String name() {
        return "igd";
    }

    @Override
    public int order() {
        return 60;
    }

    @Override
    public TransformResult plan(DomainView domain, HostTopology host) {
        IgdMode mode = domain.annotations().igd();
        if (mode == IgdMode.OFF) {
            return TransformResult.EMPTY;
        }
        List<Finding> findings = new ArrayList<>();
        Optional<HostdevView> hostdev = domain.pciHostdevs().stream().filter(candidate -> candidate.source().equals(IntelGraphics.HOST_ADDRESS)).findFirst();
        if (hostdev.isEmpty()) {
            findings.add(Finding.error("IGD-NONE", "domain " + domain.name(), "<vt:igd> is set, but the domain passes through no device from host "
                    + IntelGraphics.HOST_ADDRESS + ", where Intel integrated graphics always sits; add the <hostdev> or remove the annotation"));
            return new TransformResult(List.of(), findings);
        }
        Optional<PciFunction> function = PassthroughDevices.resolve(hostdev.get(), host, "its IGD mode", PassthroughDevices.Needs.HEADER, findings);
        if (function.isEmpty()) {
            return new TransformResult(List.of(), findings);
        }
        if (IntelGraphics.igd(function.get()).isEmpty()) {
            findings.add(Finding.error("IGD-NOT-IGD", IntelGraphics.HOST_ADDRESS.toString(), String.format("the device is %04x:%04x class %06x, not Intel display hardware;"
                    + " <vt:igd> is only for Intel integrated graphics", function.get().vendorId(), function.get().deviceId(), function.get().classCode())));
            return new TransformResult(List.of(), findings);
        }
        Version qemu = host.facts().qemuVersion(domain.emulator());
        VfioVgaAccess vga = host.vfioVgaAccess();
        List<Unmet> unmet = legacyPreconditions(domain, hostdev.get(), function.get(), qemu, vga);
        boolean legacy = switch (mode) {
            case LEGACY -> true;
            case UPT -> false;
            case AUTO -> unmet.isEmpty();
            case OFF -> throw new IllegalStateException();
        };
        if (mode == IgdMode.LEGACY && !unmet.isEmpty()) {
            unmet.forEach(precondition -> findings.add(precondition.refusal()));
            return new TransformResult(List.of(), findings);
        }
        List<DomainEdit> edits = new ArrayList<>();
        if (legacy) {
            planLegacy(domain, hostdev.get(), qemu, vga, edits, findings);
        } else {
            if (mode == IgdMode.AUTO) {
                findings.add(Finding.info("IGD-UPT", IntelGraphics.HOST_ADDRESS.toString(), "universal passthrough, because "
                        + unmet.stream().map(Unmet::reason).collect(Collectors.joining("; "))));
            }
            planUpt(domain, hostdev.get(), IntelGraphics.displayClass(function.get()) == IntelGraphics.CLASS_VGA, qemu, edits, findings);
        }
        return new TransformResult(edits, findings);
    }

    /** A legacy precondition that does not hold: why, and what the user can do about it when legacy was asked for. */
    private record Unmet(String code, String subject, String reason, String advice) {
        Finding refusal() {
            return Finding.error(code, subject, reason + "; " + advice);
        }
    }

    /** Every legacy precondition that does not hold. */
    private static List<Unmet> legacyPreconditions(DomainView domain, HostdevView hostdev, PciFunction igd, Version qemu, VfioVgaAccess vga) {
        String subject = IntelGraphics.HOST_ADDRESS.toString();
        List<Unmet> unmet = new ArrayList<>();
        if (!isI440fx(domain)) {
            unmet.add(new Unmet("IGD-MACHINE", "domain " + domain.name(), "legacy IGD mode needs the i440fx machine (pc or pc-i440fx-*), and this domain's machine is '"
                    + domain.machine().orElse("") + "'", "QEMU has no legacy mode on q35: use mode='upt' or mode='auto'"));
        }
        if (domain.uefiFirmware()) {
            unmet.add(new Unmet("IGD-FIRMWARE", "domain " + domain.name(), "legacy IGD mode runs the IGD's VBIOS, a BIOS ROM, and this guest boots UEFI"
                    + " (<loader> or firmware='efi'), whose OVMF cannot run it and does not set up the OpRegion",
                    "boot the guest with SeaBIOS (no <loader>, no firmware='efi'), or use mode='upt' with an EFI option ROM in <rom file='...'/>"));
        }
        if (IntelGraphics.displayClass(igd) != IntelGraphics.CLASS_VGA) {
            unmet.add(new Unmet("IGD-CLASS", subject, String.format("legacy IGD mode needs VGA class 0300, and the device reports %04x (the host firmware made"
                    + " another adapter primary)", IntelGraphics.displayClass(igd)), "make the IGD the primary display in the host firmware, or use mode='upt'"));
        }
        OptionalInt generation = IntelGraphics.generation(igd.deviceId());
        if (!IntelGraphics.legacyCapableGeneration(generation)) {
            unmet.add(new Unmet("IGD-GENERATION", subject, String.format("legacy IGD mode works for generations %d-%d, and device ID %04x is %s",
                    IntelGraphics.FIRST_LEGACY_GENERATION, IntelGraphics.LAST_LEGACY_GENERATION, igd.deviceId(),
                    generation.isPresent() ? "generation " + generation.getAsInt() : "of a generation QEMU does not know"), "use mode='upt'"));
        } else if (IntelGraphics.qemuGeneration(igd.deviceId(), qemu).isEmpty()) {
            // Only QEMU 9.2 gets here: it refuses IDs missing from its table, and 10.0 added the rest of generations 6-9.
            unmet.add(new Unmet("IGD-UNKNOWN-ID", subject, String.format("legacy IGD mode needs a device ID QEMU's table knows, and QEMU %s does not know %04x"
                    + " (generation %d): from %s QEMU refuses IDs missing from its table, which learned this one in %s", qemu, igd.deviceId(), generation.getAsInt(),
                    IntelGraphics.UNKNOWN_IDS_REFUSED_SINCE, IntelGraphics.I915_GENERATIONS_SINCE),
                    "use QEMU " + IntelGraphics.I915_GENERATIONS_SINCE + " or later, or mode='upt'"));
        }
        if (vga.unavailable()) {
            unmet.add(new Unmet("IGD-VGA-ACCESS", subject, "legacy IGD mode needs VGA access through vfio-pci, and this host's vfio_pci "
                    + (vga == VfioVgaAccess.DISABLED ? "turns it off (/sys/module/vfio_pci/parameters/disable_vga is Y)"
                            : "has no VGA support (no /sys/module/vfio_pci/parameters/disable_vga: the kernel was built without CONFIG_VFIO_PCI_VGA)"),
                    vga == VfioVgaAccess.DISABLED ? "load vfio_pci with disable_vga=0 ('options vfio_pci disable_vga=0' in /etc/modprobe.d, then reload it), or use mode='upt'"
                            : "use a kernel built with CONFIG_VFIO_PCI_VGA=y, or use mode='upt'"));
        }
        if (hostdev.rom().flatMap(HostdevView.Rom::bar).filter("off"::equals).isPresent() && hostdev.rom().flatMap(HostdevView.Rom::file).isEmpty()) {
            unmet.add(new Unmet("IGD-ROM-OFF", subject, "legacy IGD mode needs the VBIOS, and the hostdev says <rom bar='off'/>",
                    "remove that or give <rom file='...'/>"));
        }
        for (int slot : List.of(LEGACY_ADDRESS.slot(), LPC_SLOT)) {
            fixedOccupant(domain, slot).ifPresent(device -> unmet.add(new Unmet("IGD-SLOT-PINNED", device.address().toString(),
                    device.describe() + " is part of a multifunction slot, so it cannot be moved away from 00:" + String.format("%02x", slot)
                    + ", which legacy IGD mode needs " + (slot == LPC_SLOT ? "for the LPC bridge" : "for the IGD itself"), "move that slot's devices elsewhere")));
        }
        return unmet;
    }

    private static void planLegacy(DomainView domain, HostdevView hostdev, Version qemu, VfioVgaAccess vga, List<DomainEdit> edits, List<Finding> findings) {
        String subject = IntelGraphics.HOST_ADDRESS.toString();
        Set<Integer> used = new TreeSet<>();
        List<GuestDeviceView> toMove = new ArrayList<>();
        for (GuestDeviceView device : domain.guestPciDevices()) {
            if (device.address().bus() != 0 || device.address().domain() != 0 || device.hostdevSource().filter(IntelGraphics.HOST_ADDRESS::equals).isPresent()) {
                continue;
            }
            if (device.element().equals("video")) {
                continue; // the emulated display goes away, and its slot with it
            }
            if (device.address().slot() == LEGACY_ADDRESS.slot() || device.address().slot() == LPC_SLOT) {
                toMove.add(device);
            } else {
                used.add(device.address().slot());
            }
        }
        for (GuestDeviceView device : toMove) {
            OptionalInt slot = freeSlot(used);
            if (slot.isEmpty()) {
                findings.add(Finding.error("IGD-NO-SLOT", device.address().toString(), device.describe() + " must leave 00:"
                        + String.format("%02x", device.address().slot()) + " for legacy IGD mode, and pci.0 has no free slot left; remove a device or pin some to another bus"));
                edits.clear();
                return;
            }
            GuestPciAddress target = new GuestPciAddress(0, 0, slot.getAsInt(), 0);
            edits.add(new DomainEdit.MoveGuestDevice(device.address(), target));
            findings.add(Finding.info("IGD-MOVED", device.address().toString(), device.describe() + " moves to " + target + " to free 00:"
                    + String.format("%02x", device.address().slot()) + " for legacy IGD mode"));
        }
        if (!hostdev.guestAddress().filter(LEGACY_ADDRESS::equals).isPresent()) {
            edits.add(new DomainEdit.SetGuestAddress(hostdev.source(), LEGACY_ADDRESS));
        }
        if (hostdev.rom().flatMap(HostdevView.Rom::file).isEmpty()) {
            edits.add(new DomainEdit.EnableRomBar(hostdev.source()));
        }
        List<String> videos = domain.videoModels();
        if (videos.size() != 1 || !videos.get(0).equals("none")) {
            edits.add(new DomainEdit.DisableEmulatedVideo());
            if (videos.stream().anyMatch(model -> !model.equals("none"))) {
                findings.add(Finding.warning("IGD-VIDEO-OFF", "domain " + domain.name(), "the emulated display (" + String.join(", ", videos)
                        + ") is turned off: legacy IGD must be the only display, so the guest's screen is now the IGD's own outputs"));
            }
        }
        boolean switchable = VfioPciProperty.X_IGD_LEGACY_MODE.availableIn(qemu);
        String properties;
        if (switchable) {
            edits.add(VfioPciProperty.X_IGD_LEGACY_MODE.set(hostdev.source(), "on"));
            properties = "; x-igd-legacy-mode=on, so a precondition QEMU finds unmet at start stops the start (QEMU 10.0-10.2 abort there) instead of being logged";
        } else {
            // Legacy mode turns the OpRegion on itself; the property keeps it when QEMU drops legacy mode at start, which it does silently.
            edits.add(VfioPciProperty.X_IGD_OPREGION.set(hostdev.source(), "true"));
            properties = "; x-igd-opregion=true, so the guest driver keeps the OpRegion should QEMU " + qemu + " drop legacy mode at start (it does so silently)";
        }
        if (vga == VfioVgaAccess.UNKNOWN) {
            findings.add(Finding.warning("IGD-VGA-UNKNOWN", subject, "vfio_pci is not loaded, so whether it gives the VGA access legacy mode needs is unknown"
                    + " (it does when /sys/module/vfio_pci/parameters/disable_vga reads N); "
                    + (switchable ? "if it does not, x-igd-legacy-mode=on stops the start" : "if it does not, QEMU " + qemu + " falls back to universal passthrough silently")));
        }
        findings.add(Finding.info("IGD-LEGACY", subject, "legacy mode: guest 00:02.0 on i440fx, ROM BAR on, no emulated display, 00:1f.0 free for the LPC bridge" + properties));
    }

    private static void planUpt(DomainView domain, HostdevView hostdev, boolean vgaClass, Version qemu, List<DomainEdit> edits, List<Finding> findings) {
        String subject = IntelGraphics.HOST_ADDRESS.toString();
        List<String> properties = new ArrayList<>();
        if (VfioPciProperty.X_IGD_LEGACY_MODE.availableIn(qemu)) {
            // Explicit: QEMU 10.0-10.2 abort when they pick legacy mode on their own and find no VGA region.
            edits.add(VfioPciProperty.X_IGD_LEGACY_MODE.set(hostdev.source(), "off"));
            properties.add("x-igd-legacy-mode=off");
        } else if (isI440fx(domain) && hostdev.guestAddress().filter(LEGACY_ADDRESS::equals).isPresent()) {
            findings.add(Finding.warning("IGD-UPT-LEGACY-AUTO", subject, "QEMU " + qemu + " has no x-igd-legacy-mode switch (it came in 10.0) and tries legacy mode"
                    + " on its own for an IGD at guest 00:02.0 on i440fx; move the hostdev to another slot to be sure of universal passthrough"));
        }
        if (!VfioPciProperty.X_IGD_OPREGION.onByDefaultIn(qemu) && vgaClass) {
            edits.add(VfioPciProperty.X_IGD_OPREGION.set(hostdev.source(), "true"));
            properties.add("x-igd-opregion=true (QEMU " + qemu + " leaves the OpRegion off outside legacy mode, and the Windows driver needs it)");
        } else if (!VfioPciProperty.X_IGD_OPREGION.onByDefaultIn(qemu)) {
            // Kernels before about 6.15 expose the OpRegion only for a VGA-class IGD; asking for
            // it then makes QEMU refuse to start ("does not support requested IGD OpRegion feature").
            properties.add("no x-igd-opregion: the IGD is not VGA class (0300), and host kernels before about Linux 6.15 expose its OpRegion only then,"
                    + " so asking for it could stop the start; set it yourself with a <qemu:override> if this host's kernel exposes it");
        }
        if (domain.uefiFirmware() && hostdev.rom().flatMap(HostdevView.Rom::file).isEmpty()) {
            findings.add(Finding.warning("IGD-UPT-UEFI", subject, "a UEFI guest shows nothing on the IGD until its driver loads unless the IGD has an EFI option ROM"
                    + " (<rom file='...'/>) and a display head is connected; keep an emulated <video> until the guest driver runs"));
        }
        findings.add(Finding.info("IGD-UPT-PLAN", subject, "universal passthrough at the domain's own address"
                + properties.stream().map(property -> "; " + property).collect(Collectors.joining())));
    }

    /** A device at bus 0 {@code slot} that moving would break: a function of a multifunction slot. */
    private static Optional<GuestDeviceView> fixedOccupant(DomainView domain, int slot) {
        List<GuestDeviceView> inSlot = domain.guestPciDevices().stream()
                .filter(device -> device.address().domain() == 0 && device.address().bus() == 0 && device.address().slot() == slot)
                .filter(device -> !device.hostdevSource().filter(IntelGraphics.HOST_ADDRESS::equals).isPresent())
                .filter(device -> !device.element().equals("video"))
                .toList();
        return inSlot.stream().filter(device -> device.multifunction() || device.address().function() != 0 || inSlot.size() > 1).findFirst();
    }

    /** The lowest slot on pci.0 that is neither taken nor reserved (0 host bridge, 1 PIIX3, 2 IGD, 0x1f LPC). */
    private static OptionalInt freeSlot(Set<Integer> used) {
        for (int slot = 3; slot < LPC_SLOT; slot++) {
            if (used.add(slot)) {
                return OptionalInt.of(slot);
            }
        }
        return OptionalInt.empty();
    }

    /** libvirt's default x86 machine is pc (i440fx); old versioned names like pc-1.0 are i440fx too. */
    static boolean isI440fx(DomainView domain) {
        Optional<String> machine = domain.machine();
        if (machine.isEmpty()) {
            return domain.architecture().map(arch -> arch.equals("x86_64") || arch.equals("i686")).orElse(true);
        }
        String name = machine.get();
        return name.equals("pc") || name.startsWith("pc-i440fx") || name.matches("pc-\\d.*");
    }
}
