package io.vfiotune.spi;

import java.util.Optional;

/**
 * Whether a device's MSI-X table or PBA shares a host page with other
 * contents of its BAR. QEMU traps whole host pages around them, so on 64 KiB
 * pages a table inside a register BAR slows every access to its neighbours.
 * Devices lay the table out for 4 KiB pages, so anything the host page size
 * adds beyond the 4 KiB-rounded region is "other contents".
 *
 * @param shares relocation helps
 * @param reason the evidence, for findings and {@code probe}
 */
public record MsixPageSharing(boolean shares, String reason) {
    private static final long DESIGN_PAGE = 4096;

    public static Optional<MsixPageSharing> judge(PciFunction function, long pageSize) {
        Optional<MsixLayout> found = function.msix();
        if (found.isEmpty()) {
            return Optional.empty();
        }
        MsixLayout msix = found.get();
        Optional<PciBar> tableBar = function.bar(msix.tableBar()).filter(bar -> bar.size() > 0);
        Optional<PciBar> pbaBar = function.bar(msix.pbaBar()).filter(bar -> bar.size() > 0);
        if (tableBar.isEmpty()) {
            return Optional.of(new MsixPageSharing(false, "table BAR" + msix.tableBar() + " size unknown"));
        }
        String evidence = String.format("table BAR%d+0x%x (%d bytes), PBA BAR%d+0x%x, BAR%d size 0x%x, page size %d",
                msix.tableBar(), msix.tableOffset(), msix.tableBytes(), msix.pbaBar(), msix.pbaOffset(), msix.tableBar(), tableBar.get().size(), pageSize);
        if (pbaBar.isPresent() && msix.pbaOffset() + msix.pbaBytes() > pbaBar.get().size()) {
            return Optional.of(new MsixPageSharing(true, "PBA lies outside its BAR; " + evidence));
        }
        if (msix.pbaBar() == msix.tableBar() && msix.pbaOffset() < msix.tableOffset() + msix.tableBytes()
                && msix.tableOffset() < msix.pbaOffset() + msix.pbaBytes()) {
            return Optional.of(new MsixPageSharing(true, "table and PBA overlap; " + evidence));
        }
        boolean shares = grabsMore(msix.tableOffset(), msix.tableBytes(), tableBar.get().size(), pageSize);
        if (msix.pbaBar() == msix.tableBar() || pbaBar.isPresent()) {
            long pbaSize = msix.pbaBar() == msix.tableBar() ? tableBar.get().size() : pbaBar.get().size();
            shares |= grabsMore(msix.pbaOffset(), msix.pbaBytes(), pbaSize, pageSize);
        }
        return Optional.of(new MsixPageSharing(shares, (shares ? "shares a host page with other BAR contents; " : "alone on its host pages; ") + evidence));
    }

    /** True when rounding [offset, offset+length) out to the host page covers more of the BAR than rounding to 4 KiB. */
    private static boolean grabsMore(long offset, long length, long barSize, long pageSize) {
        long designStart = offset / DESIGN_PAGE * DESIGN_PAGE;
        long designEnd = Math.min(barSize, ceil(offset + length, DESIGN_PAGE));
        long hostStart = offset / pageSize * pageSize;
        long hostEnd = Math.min(barSize, ceil(offset + length, pageSize));
        return hostStart < designStart || hostEnd > designEnd;
    }

    private static long ceil(long value, long unit) {
        return (value + unit - 1) / unit * unit;
    }
}
