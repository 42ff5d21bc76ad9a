package io.vfiotune.spi;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * Intel integrated graphics (IGD) as QEMU's vfio-pci quirks see it: a display
 * device of Intel at host {@code 0000:00:02.0}, whose generation QEMU derives
 * from the upper byte of the device ID. Legacy mode (the VBIOS path) is only
 * known to work for generations 6 to 9.
 */
public final class IntelGraphics {
    public static final PciAddress HOST_ADDRESS = new PciAddress(0, 0, 2, 0);
    public static final int CLASS_VGA = 0x0300;
    public static final int FIRST_LEGACY_GENERATION = 6;
    public static final int LAST_LEGACY_GENERATION = 9;

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
     * The generation QEMU's IGD quirk assigns to a device ID, empty for IDs it
     * does not know (QEMU then refuses legacy mode). QEMU groups Sandy Bridge
     * through Haswell and Valley View under generation 6, and treats Broxton
     * ({@code 0x?a84}) as generation 9.
     */
    public static OptionalInt generation(int deviceId) {
        if ((deviceId & 0xfff) == 0xa84) {
            return OptionalInt.of(9);
        }
        return switch (deviceId & 0xff00) {
            case 0x0100, 0x0400, 0x0a00, 0x0c00, 0x0d00, 0x0f00 -> OptionalInt.of(6);
            case 0x1600, 0x2200 -> OptionalInt.of(8);
            case 0x1900, 0x3100, 0x5900, 0x3e00, 0x9b00 -> OptionalInt.of(9);
            case 0x8a00, 0x4500, 0x4e00 -> OptionalInt.of(11);
            case 0x9a00, 0x4c00, 0x4600, 0xa700 -> OptionalInt.of(12);
            default -> OptionalInt.empty();
        };
    }

    public static boolean legacyCapableGeneration(OptionalInt generation) {
        return generation.isPresent() && generation.getAsInt() >= FIRST_LEGACY_GENERATION && generation.getAsInt() <= LAST_LEGACY_GENERATION;
    }
}
