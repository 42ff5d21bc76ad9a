package io.vfiotune.platform;

import io.vfiotune.pci.MsixLayout;
import io.vfiotune.pci.PciBar;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.spi.Version;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Whether QEMU needs {@code x-msix-relocation} to start a device, gains from it,
 * or neither. The device is judged in the order QEMU checks it: the PBA test of
 * {@code vfio_msix_early_setup()} (hw/vfio/pci.c) with its device quirks, then
 * {@code msix_init()} (hw/pci/msix.c), then the cost of the pages QEMU traps.
 * Only the table's host pages are ever trapped: QEMU keeps its emulated PBA
 * disabled until a vector fires while masked, so guest PBA reads go to the
 * device, and a PBA sharing a page with registers costs nothing.
 *
 * @param need what relocation would do for this device
 * @param reason why, in words, for findings and {@code probe}
 * @param evidence the offsets, BAR sizes and page size the reason rests on
 */
public record MsixVerdict(Need need, String reason, String evidence) {
    /** Devices lay out MSI-X for 4 KiB pages; what a larger host page adds beyond that is someone else's registers. */
    static final long DESIGN_PAGE = 4096;
    /**
     * "vfio/pci: Allow MSI-X relocation to fixup bogus PBA": from QEMU 4.1 any
     * {@code x-msix-relocation} but off skips the PBA check, since relocation
     * rewrites the PBA pointer anyway. Before, such a device never starts.
     */
    static final Version RELOCATION_SKIPS_PBA_CHECK = new Version(4, 1, 0);

    public enum Need {
        /** QEMU refuses the device unless the table moves: a PBA or table outside its BAR, or the two overlapping. */
        TO_START,
        /** The table's host pages also hold registers, whose every access then exits to QEMU; relocation sends them direct again. */
        FOR_SPEED,
        /** QEMU starts the device and nothing on the table's host pages is slowed down. */
        NONE,
        /** QEMU refuses the device and this QEMU lets no relocation change that (before 4.1 the PBA check always applies). */
        IMPOSSIBLE
    }

    /** Relocation makes the device start, or makes it faster. */
    public boolean helps() {
        return need == Need.TO_START || need == Need.FOR_SPEED;
    }

    /** The reason and the evidence, as findings print them. */
    public String describe() {
        return reason + "; " + evidence;
    }

    /** Empty for a device without MSI-X, which QEMU never relocates. */
    public static Optional<MsixVerdict> judge(PciFunction function, MsixPlatform platform) {
        Optional<MsixLayout> found = function.msix();
        if (found.isEmpty()) {
            return Optional.empty();
        }
        MsixLayout msix = found.get();
        long tableBarSize = barSize(function, msix.tableBar());
        long pbaBarSize = barSize(function, msix.pbaBar());
        String evidence = evidence(msix, tableBarSize, pbaBarSize, platform.pageSize());
        long pbaOffset = msix.pbaOffset();
        String correction = "";
        // QEMU tests only where the PBA starts; an empty BAR has size 0, so a PBA naming one always fails, even at offset 0.
        if (pbaOffset >= pbaBarSize) {
            Optional<PbaQuirk> quirk = PbaQuirk.find(function, platform);
            if (quirk.isPresent()) {
                pbaOffset = quirk.get().offset;
                correction = String.format(Locale.ROOT, "; QEMU reads the PBA at BAR%d+0x%x, not at the 0x%x this device reports (its %s quirk)",
                        msix.pbaBar(), quirk.get().offset, msix.pbaOffset(), quirk.get().description);
            } else if (platform.qemuOlderThan(RELOCATION_SKIPS_PBA_CHECK)) {
                return Optional.of(new MsixVerdict(Need.IMPOSSIBLE, outside("PBA", msix.pbaBar(), pbaBarSize) + ", which QEMU "
                        + platform.qemu().orElseThrow() + " refuses whatever x-msix-relocation says ('MSIX PBA outside of specified BAR');"
                        + " upgrade to QEMU 4.1 or later, which starts it with relocation", evidence));
            } else {
                return Optional.of(new MsixVerdict(Need.TO_START, outside("PBA", msix.pbaBar(), pbaBarSize)
                        + ", which QEMU refuses without relocation ('MSIX PBA outside of specified BAR')", evidence));
            }
        }
        // msix_init() wants both structures inside their BARs and apart; relocation moves them before it runs.
        if (msix.tableOffset() + msix.tableBytes() > tableBarSize) {
            return Optional.of(new MsixVerdict(Need.TO_START, outside("table", msix.tableBar(), tableBarSize)
                    + ", which QEMU refuses without relocation ('table & pba overlap, or they don't fit in BARs')" + correction, evidence));
        }
        if (pbaOffset + msix.pbaBytes() > pbaBarSize) {
            return Optional.of(new MsixVerdict(Need.TO_START, "PBA runs past the end of its BAR, which QEMU refuses without relocation"
                    + " ('table & pba overlap, or they don't fit in BARs')" + correction, evidence));
        }
        if (msix.pbaBar() == msix.tableBar() && pbaOffset < msix.tableOffset() + msix.tableBytes() && msix.tableOffset() < pbaOffset + msix.pbaBytes()) {
            return Optional.of(new MsixVerdict(Need.TO_START, "table and PBA overlap" + correction, evidence));
        }
        if (!platform.tableTrapped()) {
            return Optional.of(new MsixVerdict(Need.NONE, "QEMU does not trap the table of a pseries guest (vfio-no-msix-emulation: PAPR guests"
                    + " set MSI-X up through RTAS), so the whole BAR stays mapped and sharing its pages costs nothing" + correction, evidence));
        }
        Range table = new Range(msix.tableOffset(), msix.tableBytes());
        Range pba = new Range(pbaOffset, msix.pbaBytes());
        boolean sameBar = msix.pbaBar() == msix.tableBar();
        Range tablePages = table.hostPages(platform.pageSize(), tableBarSize);
        if (tablePages.holdsOtherThan(sameBar ? List.of(table, pba) : List.of(table))) {
            return Optional.of(new MsixVerdict(Need.FOR_SPEED, "the table shares a host page with other BAR contents" + correction, evidence));
        }
        String alone = sameBar && tablePages.overlaps(pba) ? "the table's host pages hold nothing but the table and the PBA, which guests hardly ever read"
                : "the table is alone on its host pages";
        boolean pbaShares = pba.hostPages(platform.pageSize(), pbaBarSize).holdsOtherThan(sameBar ? List.of(table, pba) : List.of(pba));
        String pbaNote = pbaShares ? "; the PBA shares a host page with other BAR contents, which costs nothing: QEMU does not trap the PBA" : "";
        return Optional.of(new MsixVerdict(Need.NONE, alone + pbaNote + correction, evidence));
    }

    /** "PBA lies outside its BAR: BAR4 is empty", as QEMU sees a BIR that names nothing. */
    private static String outside(String structure, int bar, long size) {
        if (bar > 5) {
            return structure + " lies outside its BAR: BIR " + bar + " names no BAR";
        }
        return structure + " lies outside its BAR" + (size == 0 ? ": BAR" + bar + " is empty" : "");
    }

    /** A byte range of a BAR. */
    private record Range(long offset, long length) {
        /** The host pages this range lies on, cut at the end of the BAR: what QEMU takes from the guest's direct mapping. */
        Range hostPages(long pageSize, long barSize) {
            long start = offset / pageSize * pageSize;
            long end = Math.min(barSize, (offset + length + pageSize - 1) / pageSize * pageSize);
            return new Range(start, Math.max(0, end - start));
        }

        boolean overlaps(Range other) {
            return offset < other.offset + other.length && other.offset < offset + length;
        }

        /** True when a 4 KiB page of this range touches none of {@code occupied}: device registers, as far as anyone can tell from outside. */
        boolean holdsOtherThan(List<Range> occupied) {
            for (long page = offset; page < offset + length; page += DESIGN_PAGE) {
                Range designPage = new Range(page, DESIGN_PAGE);
                if (occupied.stream().noneMatch(designPage::overlaps)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** The size QEMU sees for a BIR: the kernel's region size, 0 for an empty slot, an upper half or a BIR of 6 or 7. */
    private static long barSize(PciFunction function, int index) {
        return function.bar(index).filter(PciBar::isMemory).map(PciBar::size).orElse(0L);
    }

    private static String evidence(MsixLayout msix, long tableBarSize, long pbaBarSize, long pageSize) {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "table BAR%d+0x%x (%d bytes), PBA BAR%d+0x%x, %s",
                msix.tableBar(), msix.tableOffset(), msix.tableBytes(), msix.pbaBar(), msix.pbaOffset(), barDescription(msix.tableBar(), tableBarSize)));
        if (msix.pbaBar() != msix.tableBar()) {
            out.append(", ").append(barDescription(msix.pbaBar(), pbaBarSize));
        }
        return out.append(", page size ").append(pageSize).toString();
    }

    private static String barDescription(int index, long size) {
        return size == 0 ? "BAR" + index + " empty" : String.format(Locale.ROOT, "BAR%d size 0x%x", index, size);
    }

    /**
     * PBA offsets QEMU corrects itself when the reported one is past the end of its
     * BAR, before its check, and without checking the result (msix_init does).
     */
    enum PbaQuirk {
        /**
         * "The T5 hardware returns an incorrect value of 0x8000 for the VF PBA offset
         * while the BAR itself is only 8k. The correct value is 0x1000." Any 1425:58xx;
         * the quirk is older than x-msix-relocation, so every QEMU vfio-tune targets has it.
         */
        CHELSIO_T5_VF("Chelsio T5 VF", 0x1425, 0xff00, 0x5800, 0x1000, Optional.empty()),
        /**
         * Baidu Kunlun VFs report 0x460000 with a 64 KiB BAR. "vfio/pci: Add pba_offset
         * PCI quirk for BAIDU KUNLUN AI processor", vfio pull of 2021-07-14: QEMU 6.1.
         */
        BAIDU_KUNLUN_VF("Baidu Kunlun VF", 0x1d22, 0xffff, 0x3685, 0xb400, Optional.of(new Version(6, 1, 0)));

        private final String description;
        private final int vendor;
        private final int deviceMask;
        private final int device;
        private final long offset;
        private final Optional<Version> since;

        PbaQuirk(String description, int vendor, int deviceMask, int device, long offset, Optional<Version> since) {
            this.description = description;
            this.vendor = vendor;
            this.deviceMask = deviceMask;
            this.device = device;
            this.offset = offset;
            this.since = since;
        }

        static Optional<PbaQuirk> find(PciFunction function, MsixPlatform platform) {
            for (PbaQuirk quirk : values()) {
                if (function.vendorId() == quirk.vendor && (function.deviceId() & quirk.deviceMask) == quirk.device
                        && quirk.since.map(version -> !platform.qemuOlderThan(version)).orElse(true)) {
                    return Optional.of(quirk);
                }
            }
            return Optional.empty();
        }
    }
}
