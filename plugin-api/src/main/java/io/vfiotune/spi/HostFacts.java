package io.vfiotune.spi;

import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Facts about the host that are not PCI topology. Implementations resolve
 * each one lazily, so a plan that needs no version never asks libvirt or
 * runs QEMU.
 */
public interface HostFacts {
    /** Kernel architecture, as {@code uname -m} prints it. */
    String architecture();

    /** Host page size in bytes ({@code sysconf(_SC_PAGESIZE)}). */
    long pageSize();

    /** The libvirt library version ({@code virGetVersion}). */
    Version libvirtVersion();

    /** The QEMU version of the given emulator binary, or of the pinned version when one is configured. */
    Version qemuVersion(Optional<String> emulator);

    /**
     * Root complexes ({@code pci0000:00}) the operator declared able to route
     * peer-to-peer between root ports. No host says this about itself, so it is
     * configuration only, and empty unless configured.
     */
    default Set<String> peerToPeerHostBridges() {
        return Set.of();
    }

    /**
     * Upstream QEMU changes the operator says this host's QEMU carries although
     * its version predates them (distribution backports). Configuration only;
     * empty unless configured.
     */
    default Set<QemuBackport> qemuBackports() {
        return Set.of();
    }

    /** Whether the domain's QEMU has the change: by its upstream version, or as a declared backport. Reads the version only when needed. */
    default boolean qemuHas(QemuBackport change, Optional<String> emulator) {
        return qemuBackports().contains(change) || qemuVersion(emulator).compareTo(change.upstreamSince()) >= 0;
    }

    /** Site entries for the known-good MSI-X relocation table, {@code "vvvv:dddd"} to BAR index; they win over shipped ones. */
    default Map<String, Integer> msixKnownGood() {
        return Map.of();
    }

    /**
     * The device memory, in bytes, of Grace GPUs as the operator declared it, keyed by PCI address
     * ({@code 0009:01:00.0}) or by {@code vvvv:dddd}; see {@link io.vfiotune.platform.NvidiaGraceGpu#withDeclaredMemory}.
     * The nvgrace-gpu driver reads it from ACPI and shows it to the VMM only, so it is configuration
     * only; empty unless configured.
     */
    default Map<String, Long> graceDeviceMemory() {
        return Map.of();
    }
}
