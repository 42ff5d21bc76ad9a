package io.vfiotune.xml.transforms.layout;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A PCI bridge window or BAR as guest firmware places it: its alignment and its length.
 * Firmware packs a bridge's window the way EDK2's {@code CalculateResourceAperture} does:
 * the children, each on a boundary of its own alignment (its largest BAR), largest
 * alignment first, rounded up to 1 MiB. The 64-bit window of an x86 guest (OVMF) and of an
 * arm64 {@code virt} guest (AAVMF) are both sized from it.
 */
public record BridgeWindow(long alignment, long length) {
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;
    /** Beyond any address space a guest can have; keeps the arithmetic clear of overflow. */
    private static final long HUGE = 1L << 62;

    /** A BAR: aligned to its size, the power of two at or above its length. */
    public static BridgeWindow bar(long size) {
        return new BridgeWindow(powerOfTwoAtLeast(size), Math.min(size, HUGE));
    }

    /** Children placed largest alignment first, each on its boundary; a bridge window is a multiple of 1 MiB. */
    public static BridgeWindow pack(List<BridgeWindow> children) {
        List<BridgeWindow> sorted = new ArrayList<>(children);
        sorted.sort((a, b) -> a.alignment() != b.alignment() ? Long.compare(b.alignment(), a.alignment()) : Long.compare(b.length(), a.length()));
        long end = 0;
        for (BridgeWindow child : sorted) {
            end = Math.min(HUGE, alignUp(end, child.alignment()) + child.length());
        }
        return new BridgeWindow(sorted.get(0).alignment(), alignUp(end, MIB));
    }

    private static long alignUp(long value, long alignment) {
        return Math.min(HUGE, (value + alignment - 1) / alignment * alignment);
    }

    public static long powerOfTwoAtLeast(long value) {
        if (value >= HUGE) {
            return HUGE;
        }
        long power = 1;
        while (power < value) {
            power <<= 1;
        }
        return power;
    }

    /** A size as messages write it: whole TiB or GiB, GiB with two decimals, or MiB rounded up. */
    public static String size(long bytes) {
        if (bytes >= 1024 * GIB && bytes % (1024 * GIB) == 0) {
            return bytes / (1024 * GIB) + " TiB";
        }
        if (bytes >= GIB) {
            return bytes % GIB == 0 ? bytes / GIB + " GiB" : String.format(Locale.ROOT, "%.2f GiB", (double) bytes / GIB);
        }
        return String.format(Locale.ROOT, "%d MiB", (bytes + MIB - 1) / MIB);
    }
}
