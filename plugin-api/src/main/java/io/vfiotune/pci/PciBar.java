package io.vfiotune.pci;

/**
 * One of the six BAR slots of a type-0 function, as the host sees it.
 *
 * @param index slot number, 0..5
 * @param kind what occupies the slot; the upper half of a 64-bit BAR is its own kind
 * @param prefetchable the prefetchable bit of a memory BAR
 * @param size size in bytes, 0 for an empty slot or an upper half
 */
public record PciBar(int index, Kind kind, boolean prefetchable, long size) {
    public enum Kind {
        EMPTY, IO, MEMORY_32, MEMORY_64, MEMORY_64_UPPER_HALF
    }

    public PciBar {
        if (index < 0 || index > 5) {
            throw new IllegalArgumentException("BAR index out of range: " + index);
        }
        if (size < 0) {
            throw new IllegalArgumentException("negative BAR size");
        }
    }

    public boolean isMemory() {
        return kind == Kind.MEMORY_32 || kind == Kind.MEMORY_64;
    }
}
