package io.vfiotune.cliques;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.pci.AcsControl;
import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.pci.PciePortType;
import io.vfiotune.platform.PeerToPeerPath;
import io.vfiotune.spi.HostFacts;
import io.vfiotune.spi.HostTopology;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Linux's p2pdma rule (drivers/pci/p2pdma.c calc_map_type_and_dist, pci_bridge_has_acs_redir; 5.14+) on a hand-built switch. */
class PeerToPeerRulesTest {
    private static final PciAddress ROOT_PORT = PciAddress.parse("0000:00:02.0");
    private static final PciAddress UPSTREAM = PciAddress.parse("0000:01:00.0");
    private static final PciAddress PORT_A = PciAddress.parse("0000:02:08.0");
    private static final PciAddress PORT_B = PciAddress.parse("0000:02:10.0");

    @Test
    void redirectBitsAreRequestCompletionAndEgress() {
        assertTrue(AcsControl.fromRegister(0x04).redirectsPeerToPeer());
        assertTrue(AcsControl.fromRegister(0x08).redirectsPeerToPeer());
        assertTrue(AcsControl.fromRegister(0x20).redirectsPeerToPeer(), "egress control blocks or redirects, Linux flags it");
        assertFalse(AcsControl.fromRegister(0x01 | 0x02 | 0x10 | 0x40).redirectsPeerToPeer(), "SV, TB, UF and DT are not looked at");
    }

    @Test
    void switchWithoutRedirectIsDirect() {
        PeerToPeerPath path = path(Optional.empty(), Optional.empty(), Optional.empty());
        assertEquals(PeerToPeerPath.Route.SWITCH, path.route());
        assertTrue(path.isDirect());
        assertFalse(path.goesThroughHostBridge());
    }

    @Test
    void redirectOnADownstreamPortGoesThroughTheHostBridge() {
        PeerToPeerPath path = path(Optional.of(0x1d), Optional.empty(), Optional.empty());
        assertFalse(path.isDirect());
        assertTrue(path.goesThroughHostBridge());
        assertEquals(List.of(PORT_A), path.redirectingPorts());
    }

    @Test
    void redirectOnTheMeetingBridgeAndOnAnEndpointCounts() {
        assertEquals(List.of(UPSTREAM), path(Optional.empty(), Optional.empty(), Optional.of(0x20)).redirectingPorts());
        PciFunction gpuWithAcs = function(PciAddress.parse("0000:03:00.0"), List.of(PORT_A, UPSTREAM, ROOT_PORT), Optional.empty(), Optional.of(0x04));
        PciFunction other = function(PciAddress.parse("0000:04:00.0"), List.of(PORT_B, UPSTREAM, ROOT_PORT), Optional.empty(), Optional.empty());
        assertEquals(List.of(gpuWithAcs.address()), PeerToPeerPath.between(gpuWithAcs, other, topology(List.of(gpuWithAcs, other,
                bridge(PORT_A, PciePortType.SWITCH_DOWNSTREAM, Optional.empty()), bridge(PORT_B, PciePortType.SWITCH_DOWNSTREAM, Optional.empty()),
                bridge(UPSTREAM, PciePortType.SWITCH_UPSTREAM, Optional.empty())))).redirectingPorts());
    }

    private static PeerToPeerPath path(Optional<Integer> portA, Optional<Integer> portB, Optional<Integer> upstream) {
        PciFunction a = function(PciAddress.parse("0000:03:00.0"), List.of(PORT_A, UPSTREAM, ROOT_PORT), Optional.empty(), Optional.empty());
        PciFunction b = function(PciAddress.parse("0000:04:00.0"), List.of(PORT_B, UPSTREAM, ROOT_PORT), Optional.empty(), Optional.empty());
        return PeerToPeerPath.between(a, b, topology(List.of(a, b, bridge(PORT_A, PciePortType.SWITCH_DOWNSTREAM, portA),
                bridge(PORT_B, PciePortType.SWITCH_DOWNSTREAM, portB), bridge(UPSTREAM, PciePortType.SWITCH_UPSTREAM, upstream),
                bridge(ROOT_PORT, PciePortType.ROOT_PORT, Optional.empty()))));
    }

    private static PciFunction bridge(PciAddress address, PciePortType type, Optional<Integer> acs) {
        return new PciFunction(address, 0x10b5, 0x9716, 0x060400, OptionalInt.empty(), OptionalInt.empty(), Optional.of("pcieport"), List.of(), List.of(),
                Optional.empty(), Optional.of(type), acs.map(AcsControl::fromRegister), List.of(), "pci0000:00", List.of(), 4096, List.of());
    }

    private static PciFunction function(PciAddress address, List<PciAddress> upstream, Optional<PciePortType> type, Optional<Integer> acs) {
        return new PciFunction(address, 0x10de, 0x1eb8, 0x030200, OptionalInt.empty(), OptionalInt.empty(), Optional.of("vfio-pci"), List.of(), List.of(),
                Optional.empty(), type, acs.map(AcsControl::fromRegister), upstream, "pci0000:00", List.of(), 4096, List.of());
    }

    private static HostTopology topology(List<PciFunction> functions) {
        Map<PciAddress, PciFunction> byAddress = functions.stream().collect(Collectors.toMap(PciFunction::address, Function.identity()));
        return new HostTopology() {
            @Override
            public Optional<PciFunction> function(PciAddress address) {
                return Optional.ofNullable(byAddress.get(address));
            }

            @Override
            public List<PciAddress> iommuGroupMembers(int group) {
                return List.of();
            }

            @Override
            public HostFacts facts() {
                throw new UnsupportedOperationException("no facts needed");
            }
        };
    }
}
