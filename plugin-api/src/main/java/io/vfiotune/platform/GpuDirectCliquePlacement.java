package io.vfiotune.platform;

import io.vfiotune.pci.PciCapability;
import io.vfiotune.pci.PciFunction;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.function.BooleanSupplier;

/**
 * Where QEMU puts the 8-byte GPUDirect clique capability ({@code x-nv-gpudirect-clique})
 * in a device's config space, and what that does to the device's own
 * capabilities. This is QEMU's order of work, as read in 8.1.0 to 10.2.0
 * (hw/vfio/pci-quirks.c {@code vfio_add_nv_gpudirect_cap()}, hw/vfio/pci.c
 * {@code vfio_add_std_cap()} and {@code vfio_std_cap_max_size()}, hw/pci/pci.c
 * {@code pci_add_capability()}):
 * <ol>
 * <li>The place: 0xc8 unless a capability <em>starts</em> there, else 0xd4 unless
 * one starts there, else realize fails ("invalid config space"). Before 8.1
 * (commit f6b30c1984f7) it is always 0xc8. Overlaps are not looked at.</li>
 * <li>The clique capability is added first, then the device's own capabilities.
 * A capability that starts inside the clique's 8 bytes fails, whatever it is.
 * MSI and MSI-X are added at their fixed sizes (MSI 0x0a/0x0e/0x14/0x18 by its
 * 64-bit and per-vector-mask flags, MSI-X 12) and fail when they overlap it.
 * Everything else, power management included, is sized up to the next
 * capability start, the clique's among them, and so silently cut short.</li>
 * </ol>
 *
 * @param choice why the capability goes where it goes
 * @param collisions device capabilities QEMU then fails to add (realize fails)
 * @param truncations device capabilities QEMU cuts short to make room
 */
public record GpuDirectCliquePlacement(Choice choice, List<Collision> collisions, List<Truncation> truncations) {
    public static final int FIRST_OFFSET = 0xc8;
    public static final int SECOND_OFFSET = 0xd4;
    public static final int SIZE = 8;
    private static final int STANDARD_END = 0x100;

    public enum Choice {
        /** Nothing starts at 0xc8, so every QEMU puts it there. */
        FIRST,
        /** Something starts at 0xc8, and this QEMU (before 8.1, no backport) puts it there all the same. */
        FIRST_WITHOUT_FALLBACK,
        /** Something starts at 0xc8 and nothing at 0xd4: QEMU 8.1 and later use 0xd4. */
        SECOND,
        /** Capabilities start at both: QEMU 8.1 and later fail with "invalid config space". */
        NONE
    }

    /** A device capability QEMU fails to add next to the clique. */
    public record Collision(PciCapability capability, boolean startsInside) {
        public String reason() {
            return startsInside
                    ? describe(capability) + " starts inside its 8 bytes"
                    : describe(capability) + ", which QEMU adds at its full " + capability.length() + " bytes, overlaps it";
        }
    }

    /** A device capability QEMU shortens to end where the clique starts. */
    public record Truncation(PciCapability capability, int keptBytes) {
    }

    public GpuDirectCliquePlacement {
        collisions = List.copyOf(collisions);
        truncations = List.copyOf(truncations);
    }

    /**
     * The placement on {@code function}, whose standard config space must have
     * been read whole. {@code fallsBackToD4} says whether the QEMU in use has the
     * 0xd4 fallback; it is asked only when a capability starts at 0xc8, the one
     * case where the answer matters.
     */
    public static GpuDirectCliquePlacement of(PciFunction function, BooleanSupplier fallsBackToD4) {
        if (function.configBytes() < STANDARD_END) {
            throw new IllegalArgumentException(function.address() + ": only " + function.configBytes() + " config bytes were read; the placement is unknown");
        }
        List<PciCapability> standard = function.capabilities().stream().filter(cap -> !cap.extended()).toList();
        Choice choice;
        if (!startsAt(standard, FIRST_OFFSET)) {
            choice = Choice.FIRST;
        } else if (!fallsBackToD4.getAsBoolean()) {
            choice = Choice.FIRST_WITHOUT_FALLBACK;
        } else if (!startsAt(standard, SECOND_OFFSET)) {
            choice = Choice.SECOND;
        } else {
            return new GpuDirectCliquePlacement(Choice.NONE, List.of(), List.of());
        }
        int position = choice == Choice.SECOND ? SECOND_OFFSET : FIRST_OFFSET;
        List<Collision> collisions = new ArrayList<>();
        List<Truncation> truncations = new ArrayList<>();
        for (PciCapability cap : standard) {
            int start = cap.offset();
            if (start >= position && start < position + SIZE) {
                collisions.add(new Collision(cap, true));
            } else if (cap.id() == PciCapability.ID_MSI || cap.id() == PciCapability.ID_MSIX) {
                if (cap.overlaps(position, SIZE)) {
                    collisions.add(new Collision(cap, false));
                }
            } else if (start < position && position < start + Math.min(cap.length(), nextStart(standard, start) - start)) {
                // QEMU would have cut it at the device's next capability anyway; only a cut before that loses anything.
                truncations.add(new Truncation(cap, position - start));
            }
        }
        return new GpuDirectCliquePlacement(choice, collisions, truncations);
    }

    public OptionalInt offset() {
        return switch (choice) {
            case FIRST, FIRST_WITHOUT_FALLBACK -> OptionalInt.of(FIRST_OFFSET);
            case SECOND -> OptionalInt.of(SECOND_OFFSET);
            case NONE -> OptionalInt.empty();
        };
    }

    /** QEMU realizes the device with its clique. */
    public boolean accepted() {
        return choice != Choice.NONE && collisions.isEmpty();
    }

    /** The capabilities that start at {@code offset}, for messages. */
    public static List<PciCapability> startingAt(PciFunction function, int offset) {
        return function.capabilities().stream().filter(cap -> !cap.extended() && cap.offset() == offset).toList();
    }

    /** "MSI-X at 0xc8-0xd3": a capability by name and the bytes the decoder knows it to take. */
    public static String describe(PciCapability cap) {
        String name = switch (cap.id()) {
            case PciCapability.ID_POWER_MANAGEMENT -> "power management";
            case PciCapability.ID_MSI -> "MSI";
            case PciCapability.ID_VENDOR_SPECIFIC -> "a vendor-specific capability";
            case PciCapability.ID_PCI_EXPRESS -> "PCI Express";
            case PciCapability.ID_MSIX -> "MSI-X";
            default -> String.format(Locale.ROOT, "capability %02x", cap.id());
        };
        return String.format(Locale.ROOT, "%s at 0x%02x-0x%02x", name, cap.offset(), cap.offset() + cap.length() - 1);
    }

    private static boolean startsAt(List<PciCapability> standard, int offset) {
        return standard.stream().anyMatch(cap -> cap.offset() == offset);
    }

    private static int nextStart(List<PciCapability> standard, int start) {
        return standard.stream().mapToInt(PciCapability::offset).filter(offset -> offset > start).min().orElse(STANDARD_END);
    }
}
