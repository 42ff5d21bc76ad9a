package io.vfiotune.xml.transforms.topology;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.xml.transforms.topology.MirrorUnits.Unit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The guest tree the mirror builds for one host NUMA node: devices, and switches
 * holding them. Only what decides NCCL's path types is kept: whether two devices
 * share a switch, and whether each hangs directly below the switch where they
 * meet (PIX) or below another one (PXB). A switch with a single device below it,
 * at the top, adds nothing (the device is alone: its own root port, PHB to the
 * rest as on the host); deeper down it keeps one switch, the hop that makes PXB.
 */
sealed interface MirrorNode {
    /** The lowest host address below, so a layout comes out in host order. */
    PciAddress first();

    String describe();

    record Device(Unit unit) implements MirrorNode {
        @Override
        public PciAddress first() {
            return unit.slot();
        }

        @Override
        public String describe() {
            return unit.describe();
        }
    }

    /** @param hostSwitch the host switch (its NCCL node: the upstream port) this one stands for */
    record Switch(String hostSwitch, List<MirrorNode> children) implements MirrorNode {
        public Switch {
            children = List.copyOf(children);
        }

        @Override
        public PciAddress first() {
            return children.get(0).first();
        }

        @Override
        public String describe() {
            return "switch [" + children.stream().map(MirrorNode::describe).collect(Collectors.joining(", ")) + "]";
        }
    }

    /** Every unit below this node. */
    default List<Unit> units() {
        if (this instanceof Device device) {
            return List.of(device.unit());
        }
        return ((Switch) this).children().stream().flatMap(child -> child.units().stream()).toList();
    }

    /** What sits on each guest root port of the mirror: the top-level nodes of each host NUMA node's forest. */
    static List<MirrorNode> rootPorts(List<Unit> units) {
        java.util.Map<Integer, List<Unit>> byNode = new java.util.TreeMap<>();
        for (Unit unit : units) {
            byNode.computeIfAbsent(unit.hostNode().orElse(Integer.MAX_VALUE), key -> new ArrayList<>()).add(unit);
        }
        List<MirrorNode> rootPorts = new ArrayList<>();
        byNode.values().forEach(members -> rootPorts.addAll(forest(members, 0)));
        return rootPorts;
    }

    /** The nodes below a point at {@code depth} switches from the root complex, for units that share the switches above it. */
    static List<MirrorNode> forest(List<Unit> units, int depth) {
        List<MirrorNode> nodes = new ArrayList<>();
        Map<String, List<Unit>> bySwitch = new LinkedHashMap<>();
        for (Unit unit : units) {
            List<String> switches = unit.lineage().ncclSwitches();
            if (switches.size() <= depth) {
                nodes.add(new Device(unit));
            } else {
                bySwitch.computeIfAbsent(switches.get(depth), key -> new ArrayList<>()).add(unit);
            }
        }
        bySwitch.forEach((hostSwitch, below) -> {
            if (below.size() == 1) {
                Device device = new Device(below.get(0));
                nodes.add(depth == 0 ? device : new Switch(hostSwitch, List.of(device)));
                return;
            }
            List<MirrorNode> children = forest(below, depth + 1);
            // A switch whose only child is another switch adds a hop no pair below it can tell from one.
            nodes.add(children.size() == 1 && children.get(0) instanceof Switch only ? only : new Switch(hostSwitch, children));
        });
        nodes.sort(Comparator.comparing(MirrorNode::first));
        return List.copyOf(nodes);
    }
}
