package io.vfiotune.pci;

/**
 * The MSI-X capability as the device reports it.
 *
 * @param capabilityOffset where the capability sits in config space
 * @param vectors table size in entries (16 bytes each)
 * @param tableBar BIR of the vector table
 * @param tableOffset offset of the table inside that BAR
 * @param pbaBar BIR of the pending-bit array
 * @param pbaOffset offset of the PBA inside that BAR
 */
public record MsixLayout(int capabilityOffset, int vectors, int tableBar, long tableOffset, int pbaBar, long pbaOffset) {
    public long tableBytes() {
        return vectors * 16L;
    }

    /** One bit per vector, in whole 64-bit words. */
    public long pbaBytes() {
        return ((vectors + 63) / 64) * 8L;
    }
}
