package io.vfiotune.probe.sysfs;

import io.vfiotune.pci.AcsControl;
import io.vfiotune.pci.MsixLayout;
import io.vfiotune.pci.PciCapability;
import io.vfiotune.pci.PciDvsec;
import io.vfiotune.pci.PciePortType;
import io.vfiotune.spi.Finding;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A decoded PCI config space. Decoding never throws: corrupt capability lists,
 * short reads and dead devices become {@link #faults()}, so one odd device
 * cannot take down a plan for the others.
 */
public final class ConfigSpace {
    /** Linux's own bound on standard capability walks (PCI_FIND_CAP_TTL). */
    static final int MAX_STANDARD_HOPS = 48;
    /** Every extended capability takes at least 8 bytes of the 3840 above 0x100. */
    static final int MAX_EXTENDED_HOPS = (4096 - 256) / 8;
    public static final int STANDARD_SIZE = 0x100;

    private final byte[] bytes;
    private final String subject;
    private final List<PciCapability> capabilities = new ArrayList<>();
    private final List<Finding> faults = new ArrayList<>();
    private final List<PciDvsec> dvsecs = new ArrayList<>();
    private MsixLayout msix;
    private PciePortType portType;
    private AcsControl acs;
    private final boolean allOnes;

    private ConfigSpace(byte[] bytes, String subject) {
        this.bytes = bytes.clone();
        this.subject = subject;
        this.allOnes = bytes.length >= 4 && word(0) == 0xffff && word(2) == 0xffff;
        if (bytes.length < 0x40) {
            faults.add(Finding.warning("PROBE-SHORT-CONFIG", subject,
                    "config space has only " + bytes.length + " bytes; the 64-byte header is incomplete"));
        } else if (allOnes) {
            faults.add(Finding.warning("PROBE-ALL-FF", subject,
                    "config space reads all 0xFF: the device is gone or powered down (D3cold)"));
        } else if (bytes.length < STANDARD_SIZE) {
            // Linux gives non-root readers only the 64-byte header: nothing can be said about capabilities.
            faults.add(Finding.warning("PROBE-HEADER-ONLY", subject, "only " + bytes.length
                    + " bytes of config space are readable (run as root): capabilities, MSI-X and clique room are unknown"));
        } else {
            walkStandardCapabilities();
            walkExtendedCapabilities();
            sizeUnknownCapabilities();
        }
    }

    public static ConfigSpace decode(byte[] bytes, String subject) {
        return new ConfigSpace(bytes, subject);
    }

    public int length() {
        return bytes.length;
    }

    public boolean readsAllOnes() {
        return allOnes;
    }

    public int vendorId() {
        return bytes.length >= 2 ? word(0) : 0xffff;
    }

    public int deviceId() {
        return bytes.length >= 4 ? word(2) : 0xffff;
    }

    /** Class code, revision excluded: base class, subclass, programming interface. */
    public int classCode() {
        return bytes.length >= 0x0c ? (u8(0x0b) << 16) | (u8(0x0a) << 8) | u8(0x09) : 0xffffff;
    }

    /** Header type without the multi-function bit: 0 for endpoints, 1 for bridges. */
    public int headerType() {
        return bytes.length > 0x0e ? u8(0x0e) & 0x7f : 0;
    }

    /** The raw BAR register of slot {@code index}, or empty when the read was too short. */
    public Optional<Integer> barRegister(int index) {
        int offset = 0x10 + 4 * index;
        return offset + 4 <= bytes.length ? Optional.of(dword(offset)) : Optional.empty();
    }

    public List<PciCapability> capabilities() {
        return List.copyOf(capabilities);
    }

    public Optional<MsixLayout> msix() {
        return Optional.ofNullable(msix);
    }

    public Optional<PciePortType> portType() {
        return Optional.ofNullable(portType);
    }

    public Optional<AcsControl> acs() {
        return Optional.ofNullable(acs);
    }

    /** The DVSEC extended capabilities whose two headers could be read, in walk order. */
    public List<PciDvsec> dvsecs() {
        return List.copyOf(dvsecs);
    }

    public List<Finding> faults() {
        return List.copyOf(faults);
    }

    private void walkStandardCapabilities() {
        boolean hasList = (u8(0x06) & 0x10) != 0;
        if (!hasList) {
            return;
        }
        int pointer = u8(0x34) & 0xfc;
        Set<Integer> seen = new HashSet<>();
        for (int hops = 0; pointer != 0; hops++) {
            if (hops >= MAX_STANDARD_HOPS) {
                faults.add(Finding.warning("PROBE-CAP-LOOP", subject, "capability list longer than " + MAX_STANDARD_HOPS + " entries; walk stopped"));
                return;
            }
            if (pointer < 0x40 || pointer + 2 > Math.min(bytes.length, STANDARD_SIZE)) {
                faults.add(Finding.warning("PROBE-CAP-POINTER", subject,
                        String.format("capability pointer 0x%02x is outside 0x40..0xff or past the %d bytes read; walk stopped", pointer, bytes.length)));
                return;
            }
            if (!seen.add(pointer)) {
                faults.add(Finding.warning("PROBE-CAP-LOOP", subject, String.format("capability list loops back to 0x%02x; walk stopped", pointer)));
                return;
            }
            int id = u8(pointer);
            capabilities.add(new PciCapability(id, pointer, standardLength(id, pointer), false));
            decodeStandard(id, pointer);
            pointer = u8(pointer + 1) & 0xfc;
        }
    }

    /** Known layouts; 0 means "unknown, size it up to the next capability". */
    private int standardLength(int id, int offset) {
        switch (id) {
            case PciCapability.ID_POWER_MANAGEMENT:
                return 8;
            case PciCapability.ID_MSI: {
                int control = safeWord(offset + 2);
                boolean is64 = (control & 0x80) != 0;
                boolean maskable = (control & 0x100) != 0;
                return (is64 ? 14 : 10) + (maskable ? 10 : 0);
            }
            case PciCapability.ID_MSIX:
                return 12;
            case PciCapability.ID_PCI_EXPRESS:
                return (safeWord(offset + 2) & 0xf) >= 2 ? 0x3c : 0x24;
            case PciCapability.ID_VENDOR_SPECIFIC: {
                int length = offset + 2 < bytes.length ? u8(offset + 2) : 0;
                return length >= 3 ? length : 0;
            }
            default:
                return 0;
        }
    }

    private void decodeStandard(int id, int offset) {
        if (id == PciCapability.ID_MSIX && offset + 12 <= bytes.length) {
            int control = word(offset + 2);
            int table = dword(offset + 4);
            int pba = dword(offset + 8);
            msix = new MsixLayout(offset, (control & 0x7ff) + 1, table & 0x7, Integer.toUnsignedLong(table & ~0x7),
                    pba & 0x7, Integer.toUnsignedLong(pba & ~0x7));
        } else if (id == PciCapability.ID_PCI_EXPRESS && offset + 4 <= bytes.length) {
            portType = PciePortType.fromCode((word(offset + 2) >> 4) & 0xf);
        }
    }

    private void walkExtendedCapabilities() {
        if (bytes.length < STANDARD_SIZE + 4) {
            return;
        }
        int header = dword(STANDARD_SIZE);
        if (header == 0 || header == 0xffffffff) {
            return;
        }
        int pointer = STANDARD_SIZE;
        Set<Integer> seen = new HashSet<>();
        for (int hops = 0; pointer != 0; hops++) {
            if (hops >= MAX_EXTENDED_HOPS) {
                faults.add(Finding.warning("PROBE-CAP-LOOP", subject, "extended capability list too long; walk stopped"));
                return;
            }
            if (pointer < STANDARD_SIZE || pointer + 4 > bytes.length) {
                faults.add(Finding.warning("PROBE-CAP-POINTER", subject,
                        String.format("extended capability pointer 0x%03x is outside 0x100..0xfff or past the %d bytes read; walk stopped", pointer, bytes.length)));
                return;
            }
            if (!seen.add(pointer)) {
                faults.add(Finding.warning("PROBE-CAP-LOOP", subject, String.format("extended capability list loops back to 0x%03x; walk stopped", pointer)));
                return;
            }
            header = dword(pointer);
            int id = header & 0xffff;
            capabilities.add(new PciCapability(id, pointer, 4, true));
            if (id == PciCapability.EXTENDED_ID_ACS && pointer + 8 <= bytes.length) {
                acs = AcsControl.fromRegister(word(pointer + 6));
            } else if (id == PciDvsec.EXTENDED_ID_DVSEC && pointer + 10 <= bytes.length) {
                decodeDvsec(pointer);
            }
            pointer = (header >>> 20) & 0xffc;
        }
    }

    /** DVSEC Header 1 (+4) and Header 2 (+8); the first vendor register (+0x0A) only when the DVSEC's length covers it. */
    private void decodeDvsec(int offset) {
        int header1 = dword(offset + 4);
        int length = (header1 >>> 20) & 0xfff;
        int first = offset + PciDvsec.FIRST_REGISTER_OFFSET;
        OptionalInt register = length >= PciDvsec.FIRST_REGISTER_OFFSET + 2 && first + 2 <= bytes.length ? OptionalInt.of(word(first)) : OptionalInt.empty();
        dvsecs.add(new PciDvsec(offset, header1 & 0xffff, (header1 >>> 16) & 0xf, length, word(offset + 8), register));
    }

    /**
     * A capability whose layout we do not know is taken to reach the next
     * capability (or the end of the standard header space): its real end is
     * unknown, so nothing after its start can be assumed free. QEMU's vfio code
     * sizes such a capability the same way when it copies the device's list, but
     * it does not step around its own GPUDirect clique capability: that one is
     * placed first, by start offsets only, and a device capability below it is
     * then cut short to end where the clique begins (see GpuDirectCliquePlacement).
     */
    private void sizeUnknownCapabilities() {
        List<PciCapability> sorted = capabilities.stream().filter(cap -> !cap.extended())
                .sorted(Comparator.comparingInt(PciCapability::offset)).toList();
        for (int i = 0; i < sorted.size(); i++) {
            PciCapability cap = sorted.get(i);
            if (cap.length() == 0) {
                int end = i + 1 < sorted.size() ? sorted.get(i + 1).offset() : STANDARD_SIZE;
                capabilities.set(capabilities.indexOf(cap), new PciCapability(cap.id(), cap.offset(), end - cap.offset(), false));
            }
        }
    }

    private int u8(int offset) {
        return bytes[offset] & 0xff;
    }

    private int word(int offset) {
        return u8(offset) | (u8(offset + 1) << 8);
    }

    private int safeWord(int offset) {
        return offset + 2 <= bytes.length ? word(offset) : 0;
    }

    private int dword(int offset) {
        return word(offset) | (word(offset + 2) << 16);
    }
}
