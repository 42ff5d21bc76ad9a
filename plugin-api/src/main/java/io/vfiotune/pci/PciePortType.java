package io.vfiotune.pci;

/** The device/port type field of the PCI Express capability. */
public enum PciePortType {
    ENDPOINT(0x0), LEGACY_ENDPOINT(0x1), ROOT_PORT(0x4), SWITCH_UPSTREAM(0x5), SWITCH_DOWNSTREAM(0x6),
    PCIE_TO_PCI_BRIDGE(0x7), PCI_TO_PCIE_BRIDGE(0x8), ROOT_COMPLEX_INTEGRATED_ENDPOINT(0x9),
    ROOT_COMPLEX_EVENT_COLLECTOR(0xa), UNKNOWN(-1);

    private final int code;

    PciePortType(int code) {
        this.code = code;
    }

    public static PciePortType fromCode(int code) {
        for (PciePortType type : values()) {
            if (type.code == code) {
                return type;
            }
        }
        return UNKNOWN;
    }
}
