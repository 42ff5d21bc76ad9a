package io.vfiotune.platform;

import java.util.List;

/**
 * How NCCL classes the PCIe path between two devices, from the devices' sysfs
 * paths alone (src/graph/xml.cc, topo.cc, paths.cc in NCCL 2.2x). NCCL allows
 * GPU peer-to-peer and GPUDirect RDMA by default only up to {@link #PXB}.
 * NCCL's own names; nvidia-smi says NODE where NCCL says PHB across two host
 * bridges of one NUMA node.
 */
public enum NcclPathType {
    /** Both hang directly below one PCIe switch. */
    PIX,
    /** They meet in a PCIe switch, through more than one switch. */
    PXB,
    /** No switch joins them; they meet in the CPU of one NUMA node. */
    PHB,
    /** They sit on different NUMA nodes. */
    SYS;

    /** Whether NCCL enables P2P and GPUDirect RDMA over this path without being told to. */
    public boolean peerToPeerByDefault() {
        return this == PIX || this == PXB;
    }

    public static NcclPathType between(PcieLineage a, PcieLineage b) {
        List<String> above = a.ncclSwitches();
        List<String> aboveOther = b.ncclSwitches();
        int common = 0;
        while (common < above.size() && common < aboveOther.size() && above.get(common).equals(aboveOther.get(common))) {
            common++;
        }
        if (common > 0) {
            // Device-to-switch links are PIX, switch-to-switch links PXB; the path takes its worst link.
            return above.size() == common && aboveOther.size() == common ? PIX : PXB;
        }
        return a.numaNode().equals(b.numaNode()) ? PHB : SYS;
    }
}
