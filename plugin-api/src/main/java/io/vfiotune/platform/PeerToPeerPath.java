package io.vfiotune.platform;

import io.vfiotune.pci.AcsControl;
import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.pci.PciePortType;
import io.vfiotune.spi.HostTopology;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How traffic between two host functions travels, which decides whether the
 * two can do peer-to-peer DMA (and so share a GPUDirect clique). The PCIe part
 * follows Linux's p2pdma decision ({@code calc_map_type_and_dist()} in
 * drivers/pci/p2pdma.c, 5.14 and later): paths that meet in a switch are direct
 * unless a function on them redirects peer-to-peer traffic, which then goes up
 * to the root complex like traffic between root ports.
 *
 * @param route where the two paths meet
 * @param meetingBridge the lowest bridge above both, when there is one
 * @param redirectingPorts functions on the two paths (the two functions themselves, and
 *        every bridge up to the meeting bridge, which counts once) whose ACS control sends
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

    /**
     * P2P goes up to the root complex: no switch joins the two, or ACS on the
     * way redirects it there. It then works only where the host bridges forward
     * peer-to-peer traffic, which no host says about itself.
     */
    public boolean goesThroughHostBridge() {
        return route == Route.HOST_BRIDGE || route == Route.ACROSS_HOST_BRIDGES || (route == Route.SWITCH && !redirectingPorts.isEmpty());
    }

    public static PeerToPeerPath between(PciFunction a, PciFunction b, HostTopology topology) {
        if (!a.nvlinks().isEmpty() && !b.nvlinks().isEmpty() && a.iommuGroup().isPresent() && a.iommuGroup().equals(b.iommuGroup())) {
            return new PeerToPeerPath(Route.NVLINK, Optional.empty(), List.of());
        }
        return overPcie(a, b, topology);
    }

    /** The route over PCIe alone, ignoring any NVLink2 between the two. */
    public static PeerToPeerPath overPcie(PciFunction a, PciFunction b, HostTopology topology) {
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
        // Linux checks the provider and every bridge up to and including the common one, then the
        // client and its bridges below the common one: each function once, the endpoints included.
        List<PciAddress> redirecting = new ArrayList<>();
        if (redirects(a.acs())) {
            redirecting.add(a.address());
        }
        addRedirecting(a.upstream().subList(0, meeting + 1), topology, redirecting);
        if (redirects(b.acs())) {
            redirecting.add(b.address());
        }
        addRedirecting(aboveB.subList(0, aboveB.indexOf(bridge)), topology, redirecting);
        return new PeerToPeerPath(Route.SWITCH, Optional.of(bridge), redirecting);
    }

    private static boolean redirects(Optional<AcsControl> acs) {
        return acs.map(AcsControl::redirectsPeerToPeer).orElse(false);
    }

    private static void addRedirecting(List<PciAddress> bridges, HostTopology topology, List<PciAddress> out) {
        for (PciAddress bridge : bridges) {
            if (redirects(topology.function(bridge).flatMap(PciFunction::acs))) {
                out.add(bridge);
            }
        }
    }
}
