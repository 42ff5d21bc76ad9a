package io.vfiotune.pci;

/**
 * A capability found by walking the config space.
 *
 * @param id capability ID (standard) or extended capability ID
 * @param offset where its header starts
 * @param length how many bytes it occupies, as far as the decoder knows its layout
 * @param extended whether it is in the PCIe extended list (offset >= 0x100)
 */
public record PciCapability(int id, int offset, int length, boolean extended) {
    public static final int ID_POWER_MANAGEMENT = 0x01;
    public static final int ID_MSI = 0x05;
    public static final int ID_VENDOR_SPECIFIC = 0x09;
    public static final int ID_PCI_EXPRESS = 0x10;
    public static final int ID_MSIX = 0x11;
    public static final int EXTENDED_ID_ACS = 0x000d;

    /** True when [start, start + size) intersects this capability. */
    public boolean overlaps(int start, int size) {
        return offset < start + size && start < offset + length;
    }
}
