package io.vfiotune.report;

import io.vfiotune.platform.NcclPathType;
import io.vfiotune.xml.transforms.topology.TopologyPairs;

import java.util.OptionalInt;
import java.util.stream.Collectors;

/**
 * The pair table of {@code probe --domain}: for every pair of the domain's
 * devices, the path type NCCL finds on the host and the one the guest layout
 * gives, and where each device sits. A pair whose types differ is marked, since
 * that is where the guest loses (or claims) peer-to-peer the host has (or lacks).
 */
public final class TopologyReport {
    private TopologyReport() {
    }

    public static String text(TopologyPairs.Table table) {
        StringBuilder out = new StringBuilder("\ndomain devices (host NUMA node -> guest address, guest NUMA node):\n");
        for (TopologyPairs.Device device : table.devices()) {
            out.append("  ").append(device.name()).append("  host node ").append(node(device.hostNode()))
                    .append(" -> guest ").append(device.guestAddress().orElse("unplaced")).append(" node ").append(node(device.guestNode())).append('\n');
        }
        out.append("path types (NCCL's: PIX one switch, PXB several, PHB through the CPU, SYS across NUMA nodes; P2P by default up to PXB):\n");
        for (TopologyPairs.Pair pair : table.pairs()) {
            String guest = pair.guest().map(NcclPathType::name).orElse("-");
            out.append("  ").append(pair.a()).append("  ").append(pair.b()).append("  host ").append(pair.host()).append("  guest ").append(guest)
                    .append(pair.guest().filter(type -> type != pair.host()).isPresent() ? "  (differs)" : "").append('\n');
        }
        return out.toString();
    }

    /** The probe's JSON object with a {@code "domain"} member added. */
    public static String json(String probeJson, TopologyPairs.Table table) {
        String devices = table.devices().stream().map(device -> "{\"device\":" + ProbeReport.quote(device.name())
                + ",\"functions\":" + device.functions().stream().map(function -> ProbeReport.quote(function.toString())).collect(Collectors.joining(",", "[", "]"))
                + ",\"hostNode\":" + jsonNode(device.hostNode())
                + ",\"guestAddress\":" + device.guestAddress().map(ProbeReport::quote).orElse("null")
                + ",\"guestNode\":" + jsonNode(device.guestNode()) + "}").collect(Collectors.joining(",", "[", "]"));
        String pairs = table.pairs().stream().map(pair -> "{\"a\":" + ProbeReport.quote(pair.a()) + ",\"b\":" + ProbeReport.quote(pair.b())
                + ",\"host\":" + ProbeReport.quote(pair.host().name()) + ",\"guest\":" + pair.guest().map(type -> ProbeReport.quote(type.name())).orElse("null") + "}")
                .collect(Collectors.joining(",", "[", "]"));
        String trimmed = probeJson.stripTrailing();
        return trimmed.substring(0, trimmed.length() - 1) + ",\"domain\":{\"devices\":" + devices + ",\"pairs\":" + pairs + "}}\n";
    }

    private static String node(OptionalInt node) {
        return node.isPresent() ? String.valueOf(node.getAsInt()) : "none";
    }

    private static String jsonNode(OptionalInt node) {
        return node.isPresent() ? String.valueOf(node.getAsInt()) : "null";
    }
}
