package io.vfiotune.platform;

import io.vfiotune.spi.Version;

import static java.util.Objects.requireNonNull;

import java.util.Optional;
import java.util.function.Supplier;

/**
 * What besides the device decides whether {@code x-msix-relocation} is needed:
 * the host page size, whether QEMU traps the guest's MSI-X table at all, and the
 * QEMU version, on which QEMU's own PBA corrections and the relocation bypass of
 * its PBA check depend.
 *
 * <p>The QEMU version is asked for only when a device's PBA lies outside its BAR,
 * the one case it decides, so a plan that never needs it never runs QEMU.
 */
public final class MsixPlatform {
    private final long pageSize;
    private final boolean tableTrapped;
    private final Supplier<Optional<Version>> qemu;

    private MsixPlatform(long pageSize, boolean tableTrapped, Supplier<Optional<Version>> qemu) {
        if (pageSize <= 0) {
            throw new IllegalArgumentException("page size must be positive: " + pageSize);
        }
        this.pageSize = pageSize;
        this.tableTrapped = tableTrapped;
        this.qemu = requireNonNull(qemu, "qemu is null");
    }

    /**
     * A guest machine whose MSI-X table QEMU emulates: every machine but pseries.
     * With the kernel's MSIX_MAPPABLE (Linux 4.16 and later) QEMU maps the whole BAR
     * and lays its emulated table over it, so the table's host pages exit to QEMU,
     * whatever else they hold.
     *
     * @param qemu supplies the QEMU version, or empty when unknown (counted as a current QEMU)
     */
    public static MsixPlatform trappingTable(long pageSize, Supplier<Optional<Version>> qemu) {
        return new MsixPlatform(pageSize, true, qemu);
    }

    /**
     * A pseries guest. Its machine property {@code vfio-no-msix-emulation} is always
     * true (PAPR guests set MSI-X up through RTAS, never by writing the table), so QEMU
     * disables the table overlay and no page of the BAR exits to QEMU.
     */
    public static MsixPlatform pseries(long pageSize, Supplier<Optional<Version>> qemu) {
        return new MsixPlatform(pageSize, false, qemu);
    }

    public long pageSize() {
        return pageSize;
    }

    public boolean tableTrapped() {
        return tableTrapped;
    }

    /** The QEMU version, or empty when unknown. */
    public Optional<Version> qemu() {
        return requireNonNull(qemu.get(), "the QEMU version supplier returned null");
    }

    /** True when the QEMU version is known and older than {@code version}; an unknown version counts as current. */
    boolean qemuOlderThan(Version version) {
        return qemu().map(known -> known.compareTo(version) < 0).orElse(false);
    }
}
