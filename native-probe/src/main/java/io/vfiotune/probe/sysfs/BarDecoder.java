package io.vfiotune.probe.sysfs;

import io.vfiotune.pci.PciBar;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Combines the BAR registers of the config header with the kernel's
 * {@code resource} file: the kernel knows sizes, the registers know types even
 * when the kernel left a BAR unassigned.
 */
final class BarDecoder {
    // Linux IORESOURCE_* flags as printed in the third column of sysfs "resource".
    static final long IORESOURCE_IO = 0x100;
    static final long IORESOURCE_MEM = 0x200;
    static final long IORESOURCE_PREFETCH = 0x2000;
    static final long IORESOURCE_MEM_64 = 0x100000;

    record ResourceLine(long start, long end, long flags) {
        long size() {
            return end > start || (end == start && start != 0) ? end - start + 1 : 0;
        }
    }

    private BarDecoder() {
    }

    static List<PciBar> decode(ConfigSpace config, Optional<List<ResourceLine>> resource) {
        int slots = config.headerType() == 1 ? 2 : 6;
        List<PciBar> bars = new ArrayList<>();
        boolean nextIsUpperHalf = false;
        for (int index = 0; index < slots; index++) {
            if (nextIsUpperHalf) {
                bars.add(new PciBar(index, PciBar.Kind.MEMORY_64_UPPER_HALF, false, 0));
                nextIsUpperHalf = false;
                continue;
            }
            int slot = index;
            PciBar bar = decodeSlot(index, config.barRegister(index), resource.map(lines -> lineAt(lines, slot)));
            bars.add(bar);
            nextIsUpperHalf = bar.kind() == PciBar.Kind.MEMORY_64 && index + 1 < slots;
        }
        return List.copyOf(bars);
    }

    private static ResourceLine lineAt(List<ResourceLine> lines, int index) {
        // Optional.map turns a missing line into empty.
        return lines.size() > index ? lines.get(index) : null;
    }

    private static PciBar decodeSlot(int index, Optional<Integer> register, Optional<ResourceLine> line) {
        long size = line.map(ResourceLine::size).orElse(0L);
        if (size > 0) {
            long flags = line.get().flags();
            if ((flags & IORESOURCE_IO) != 0) {
                return new PciBar(index, PciBar.Kind.IO, false, size);
            }
            boolean is64 = (flags & IORESOURCE_MEM_64) != 0 || register.map(value -> ((value >> 1) & 3) == 2).orElse(false);
            return new PciBar(index, is64 ? PciBar.Kind.MEMORY_64 : PciBar.Kind.MEMORY_32, (flags & IORESOURCE_PREFETCH) != 0, size);
        }
        int value = register.orElse(0);
        if (value == 0) {
            return new PciBar(index, PciBar.Kind.EMPTY, false, 0);
        }
        if ((value & 1) != 0) {
            return new PciBar(index, PciBar.Kind.IO, false, 0);
        }
        boolean is64 = ((value >> 1) & 3) == 2;
        return new PciBar(index, is64 ? PciBar.Kind.MEMORY_64 : PciBar.Kind.MEMORY_32, (value & 8) != 0, 0);
    }
}
