package io.vfiotune.pci;

import java.util.OptionalInt;

/**
 * A Designated Vendor-Specific Extended Capability (PCIe extended capability 0x0023), as far as
 * the header goes: DVSEC Header 1 at +4 (vendor, revision, length) and DVSEC Header 2 at +8
 * (the DVSEC ID). Only the first vendor register after the headers is kept, the 16 bits at +0x0A,
 * because that is the one register vfio-tune reads (NVIDIA's GPU capability bitmap, see
 * {@link io.vfiotune.platform.NvidiaGraceGpu}); everything else stays in config space.
 *
 * @param offset where the extended capability header is
 * @param vendorId DVSEC Vendor ID (not the function's vendor)
 * @param revision DVSEC Revision
 * @param length DVSEC Length in bytes, headers included
 * @param dvsecId DVSEC ID, the vendor's number for this structure
 * @param firstRegister the 16 bits at +0x0A, empty when the length or the bytes read do not reach them
 */
public record PciDvsec(int offset, int vendorId, int revision, int length, int dvsecId, OptionalInt firstRegister) {
    public static final int EXTENDED_ID_DVSEC = 0x0023;
    public static final int FIRST_REGISTER_OFFSET = 0x0a;
}
