package io.vfiotune.spi;

/**
 * A guest NUMA cell of {@code <cpu><numa>}.
 *
 * @param hasCpus whether its {@code cpus} attribute names any
 * @param memoryKiB its {@code memory}, in KiB
 */
public record GuestNumaCell(int id, boolean hasCpus, long memoryKiB) {
}
