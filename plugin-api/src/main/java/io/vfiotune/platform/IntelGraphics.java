package io.vfiotune.platform;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.spi.Version;

import static java.util.Objects.requireNonNull;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * Intel integrated graphics (IGD) as QEMU's vfio-pci quirks see it: a display
 * device of Intel at host {@code 0000:00:02.0}. QEMU derives a generation from
 * the device ID ({@code igd_gen()} in hw/vfio/igd.c) with a table that changed
 * twice, and legacy mode (the VBIOS path) engages only for an ID that table
 * knows:
 * <ul>
 * <li>up to 9.1, IDs it does not list count as generation 8 ("assume newer is
 * compatible"), so Comet Lake and Gemini Lake work as generation 8;</li>
 * <li>9.2 (e433f208973f) turns unknown IDs into -1, no legacy mode, and adds only
 * Coffee Lake, Elkhart Lake and Tiger Lake;</li>
 * <li>10.0 (0bb758e97ace, 183714d8f940, 960f62770ae4) numbers generations as the
 * i915 driver does, adds Gemini Lake, Comet Lake, Ice, Jasper, Rocket, Alder and
 * Raptor Lake, and masks Broxton with {@code 0xffe}, so 0x1a85 and 0x5a85 count.
 * 10.1 and 10.2 keep that table.</li>
 * </ul>
 * Legacy mode is only known to work on generations 6 to 9 as i915 counts them
 * (QEMU 10.1 refuses it elsewhere, dd69d846046f); older QEMU tries it for any ID
 * it knows.
 */
public final class IntelGraphics {
    public static final PciAddress HOST_ADDRESS = new PciAddress(0, 0, 2, 0);
    public static final int CLASS_VGA = 0x0300;
    public static final int FIRST_LEGACY_GENERATION = 6;
    public static final int LAST_LEGACY_GENERATION = 9;
    /** The first QEMU whose table gives IDs it does not list no generation (e433f208973f). */
    public static final Version UNKNOWN_IDS_REFUSED_SINCE = new Version(9, 2, 0);
    /** The first QEMU whose table follows i915's generations (the 10.0 series of T. Moeko). */
    public static final Version I915_GENERATIONS_SINCE = new Version(10, 0, 0);

    private IntelGraphics() {
    }

    /** The function when it is an IGD: Intel, display class, at host 00:02.0 of domain 0. */
    public static Optional<PciFunction> igd(PciFunction function) {
        boolean igd = function.vendorId() == PciFunction.VENDOR_INTEL && function.baseClass() == 0x03 && function.address().equals(HOST_ADDRESS);
        return igd ? Optional.of(function) : Optional.empty();
    }

    /** Base class and subclass, e.g. {@code 0x0300} for VGA, {@code 0x0380} for a non-VGA display controller. */
    public static int displayClass(PciFunction function) {
        return function.classCode() >> 8;
    }

    /**
     * The generation of the hardware, as i915 counts it: QEMU 10.0's table, which
     * was aligned with i915. Empty for IDs that table does not know (before Sandy
     * Bridge, and after Raptor Lake).
     */
    public static OptionalInt generation(int deviceId) {
        // Broxton and Apollo Lake (0x0a84, 0x1a84, 0x1a85, 0x5a84, 0x5a85), before the 0x0a Haswell prefix
        if ((deviceId & 0xffe) == 0xa84) {
            return OptionalInt.of(9);
        }
        return switch (deviceId & 0xff00) {
            case 0x0100 -> OptionalInt.of(6);
            case 0x0400, 0x0a00, 0x0c00, 0x0d00, 0x0f00 -> OptionalInt.of(7);
            case 0x1600, 0x2200 -> OptionalInt.of(8);
            case 0x1900, 0x3100, 0x5900, 0x3e00, 0x9b00 -> OptionalInt.of(9);
            case 0x8a00, 0x4500, 0x4e00 -> OptionalInt.of(11);
            case 0x9a00, 0x4c00, 0x4600, 0xa700 -> OptionalInt.of(12);
            default -> OptionalInt.empty();
        };
    }

    /**
     * The generation QEMU {@code qemu} gives a device ID, empty where that QEMU
     * says -1 and so never enables legacy mode for the device.
     */
    public static OptionalInt qemuGeneration(int deviceId, Version qemu) {
        requireNonNull(qemu, "qemu is null");
        if (qemu.compareTo(I915_GENERATIONS_SINCE) >= 0) {
            return generation(deviceId);
        }
        boolean unknownRefused = qemu.compareTo(UNKNOWN_IDS_REFUSED_SINCE) >= 0;
        OptionalInt unknown = unknownRefused ? OptionalInt.empty() : OptionalInt.of(8);
        // Broxton before 10.0: only 0x?a84 (no mask), as generation 8
        if ((deviceId & 0xfff) == 0xa84) {
            return OptionalInt.of(8);
        }
        return switch (deviceId & 0xff00) {
            case 0x0000, 0x2500, 0x2700, 0x2900, 0x2a00, 0x2e00, 0x3500, 0xa000 -> OptionalInt.empty();
            case 0x0100, 0x0400, 0x0a00, 0x0c00, 0x0d00, 0x0f00 -> OptionalInt.of(6);
            case 0x1600, 0x1900, 0x2200, 0x5900 -> OptionalInt.of(8);
            case 0x3e00 -> unknownRefused ? OptionalInt.of(9) : unknown;
            case 0x4500 -> unknownRefused ? OptionalInt.of(11) : unknown;
            case 0x9a00 -> unknownRefused ? OptionalInt.of(12) : unknown;
            default -> unknown;
        };
    }

    public static boolean legacyCapableGeneration(OptionalInt generation) {
        return generation.isPresent() && generation.getAsInt() >= FIRST_LEGACY_GENERATION && generation.getAsInt() <= LAST_LEGACY_GENERATION;
    }
}
