package io.vfiotune.spi;

import java.util.List;
import java.util.Optional;

/**
 * What a transform may read of a domain definition. Transforms never edit the
 * XML themselves: they return {@link DomainEdit}s, and the engine applies them
 * without losing anything the user wrote.
 */
public interface DomainView {
    String name();

    /** {@code <os><type arch=...>}, empty when the definition leaves it to libvirt. */
    Optional<String> architecture();

    /** {@code <os><type machine=...>}, as written (for example {@code pc}, {@code pc-i440fx-7.2}, {@code q35}, {@code pseries}). */
    Optional<String> machine();

    /** {@code <devices><emulator>}. */
    Optional<String> emulator();

    /** PCI hostdevs in document order. */
    List<HostdevView> pciHostdevs();

    /** NUMA cell IDs defined under {@code <cpu><numa>}. */
    List<Integer> numaCells();

    TuneAnnotations annotations();
}
