package io.vfiotune.spi;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How traffic between two host functions travels, which decides whether the
 * two can do peer-to-peer DMA (and so share a GPUDirect clique).
 *
 * @param route where the two paths meet
 * @param meetingBridge the lowest bridge above both, when there is one
 * @param redirectingPorts bridges below the meeting point whose ACS control sends
 *        peer-to-peer requests or completions up to the root complex
 */
public record PeerToPeerPath(Route route, Optional<PciAddress> meetingBridge, List<PciAddress> redirectingPorts) {
    public enum Route {
        /** Both are GPUs wired to the same NVLink2 bridges (one IOMMU group on POWER9). */
        NVLINK,
        /** The paths meet in a PCIe switch, below any root port. */
        SWITCH,
        /** The paths meet at a root port or in the root complex: P2P goes through the host bridge. */
        HOST_BRIDGE,
        /** The functions hang off different root complexes. */
        ACROSS_HOST_BRIDGES
    }

    public PeerToPeerPath {
        redirectingPorts = List.copyOf(redirectingPorts);
    }

    /** P2P stays inside a switch with nothing redirecting it, or uses NVLink. */
    public boolean isDirect() {
        return route == Route.NVLINK || (route == Route.SWITCH && redirectingPorts.isEmpty());
    }

    public static PeerToPeerPath between(PciFunction a, PciFunction b, HostTopology topology) {
        if (!a.nvlinks().isEmpty() && !b.nvlinks().isEmpty() && a.iommuGroup().isPresent() && a.iommuGroup().equals(b.iommuGroup())) {
            return new PeerToPeerPath(Route.NVLINK, Optional.empty(), List.of());
        }
        if (!a.rootComplex().equals(b.rootComplex())) {
            return new PeerToPeerPath(Route.ACROSS_HOST_BRIDGES, Optional.empty(), List.of());
        }
        List<PciAddress> aboveB = b.upstream();
        int meeting = -1;
        for (int i = 0; i < a.upstream().size() && meeting < 0; i++) {
            if (aboveB.contains(a.upstream().get(i))) {
                meeting = i;
            }
        }
        if (meeting < 0) {
            return new PeerToPeerPath(Route.HOST_BRIDGE, Optional.empty(), List.of());
        }
        PciAddress bridge = a.upstream().get(meeting);
        Optional<PciePortType> type = topology.function(bridge).flatMap(PciFunction::portType);
        boolean inSwitch = type.isPresent() && (type.get() == PciePortType.SWITCH_UPSTREAM || type.get() == PciePortType.SWITCH_DOWNSTREAM);
        if (!inSwitch) {
            return new PeerToPeerPath(Route.HOST_BRIDGE, Optional.of(bridge), List.of());
        }
        List<PciAddress> redirecting = new ArrayList<>();
        addRedirecting(a.upstream().subList(0, meeting), topology, redirecting);
        addRedirecting(aboveB.subList(0, aboveB.indexOf(bridge)), topology, redirecting);
        return new PeerToPeerPath(Route.SWITCH, Optional.of(bridge), redirecting);
    }

    private static void addRedirecting(List<PciAddress> bridges, HostTopology topology, List<PciAddress> out) {
        for (PciAddress bridge : bridges) {
            if (topology.function(bridge).flatMap(PciFunction::acs).map(AcsControl::redirectsPeerToPeer).orElse(false)) {
                out.add(bridge);
            }
        }
    }
}
