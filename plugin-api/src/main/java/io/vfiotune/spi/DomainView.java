package io.vfiotune.spi;

import io.vfiotune.pci.PciAddress;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

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

    /**
     * {@code <numatune><memnode>} elements, in document order: the host nodes each
     * guest cell takes its memory from. {@link GuestNumaCells} turns them into the
     * guest cell of a host node.
     */
    default List<NumaMemnode> numaMemnodes() {
        return List.of();
    }

    /** Every {@code <controller type='pci'>}, in document order. */
    List<PciControllerView> pciControllers();

    /** Every device under {@code <devices>} with an {@code <address type='pci'>}, in document order. */
    List<GuestDeviceView> guestPciDevices();

    /** The {@code <model type=...>} of each {@code <video>}, in document order ({@code default} when absent). */
    List<String> videoModels();

    /**
     * Whether the guest boots UEFI firmware: {@code <os firmware='efi'>}, or a
     * {@code <loader>} (OVMF) unless {@code <os firmware='bios'>} says otherwise or
     * the loader is a SeaBIOS or qboot ROM image.
     */
    boolean uefiFirmware();

    /**
     * The guest's physical address width, when the definition fixes it:
     * {@code <cpu><maxphysaddr mode='emulate' bits='N'/>}. Empty when it does not
     * (see {@link #hostPhysicalAddressBits()}), and QEMU's default of 40 applies.
     */
    default OptionalInt physicalAddressBits() {
        return OptionalInt.empty();
    }

    /** Whether the guest takes the host's width: {@code <maxphysaddr mode='passthrough'/>} or {@code <cpu mode='host-passthrough'>}. */
    default boolean hostPhysicalAddressBits() {
        return false;
    }

    /**
     * Whether the guest CPU has 1 GiB pages (pdpe1gb), which OVMF needs before it uses
     * more than 40 address bits: yes for {@code host-passthrough}, {@code maximum} and
     * {@code host-model} (every host that runs such GPUs has them) and for a required or
     * forced {@code pdpe1gb} feature; no for QEMU's default CPU and a disabled or forbidden
     * feature; empty for a named model, which vfio-tune does not keep a table of.
     */
    default Optional<Boolean> cpuGigabytePages() {
        return Optional.of(false);
    }

    /** The guest NUMA cells with what they hold, in document order. */
    default List<GuestNumaCell> numaCellDetails() {
        return numaCells().stream().map(id -> new GuestNumaCell(id, true, 1)).toList();
    }

    /** A hostdev's {@code <acpi nodeset=...>} (libvirt 11.8's Generic Initiator nodes), as written. */
    default Optional<String> acpiNodeset(PciAddress hostdev) {
        return Optional.empty();
    }

    /** The values of {@code <qemu:commandline><qemu:arg>}, in order, as the definition has them (vfio-tune's own taken back). */
    default List<String> qemuCommandlineArguments() {
        return List.of();
    }

    /**
     * The {@code -machine NAME=VALUE} properties vfio-tune's previous plan wrote (recorded in
     * {@code <vt:generated>} and taken back before this plan), by name: guest hardware a re-plan
     * or a restore must not silently take away.
     */
    default java.util.Map<String, String> previouslyGeneratedMachineProperties() {
        return java.util.Map.of();
    }

    /** The {@code <pcihole64>} of the {@code pcie-root} controller in KiB, as written (libvirt >= 11.4 sizes aarch64 virt's window with it). */
    default OptionalLong pcieRootHole64KiB() {
        return OptionalLong.empty();
    }

    TuneAnnotations annotations();
}
