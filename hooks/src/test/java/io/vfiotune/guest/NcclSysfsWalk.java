package io.vfiotune.guest;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A test-side model of how NCCL classes the path between two PCI devices, from
 * sysfs alone, written from NCCL's code and independent of vfio-tune's own
 * {@code PcieLineage}/{@code NcclPathType}, so the two can judge each other:
 * <ul>
 * <li>the parent walk of {@code ncclTopoGetXmlFromSys} (src/graph/xml.cc), done on
 * the realpath string literally: cut the path at its last '/', look at the
 * component before the cut; not a {@code checkBDFFormat} bus ID: a CPU (root
 * complex) with the walking node's {@code numa_node}; a bus ID at the second cut:
 * the parent {@code <pci>} (a switch upstream port), which walks on from its own
 * realpath;</li>
 * <li>{@code ncclTopoFlattenBcmSwitches} (src/graph/topo.cc): the first Broadcom
 * Gen4/Gen5 switch node not yet flattened, in the order the nodes were created
 * (parents before children), takes over the links of its child switches of the
 * same generation at level 1 and is marked ({@code device |= 0xffff});</li>
 * <li>the path types of {@code ncclTopoSetPaths} (src/graph/paths.cc): a PCI link
 * is PIX, PXB between two PCI switch nodes, PHB when one end is a CPU; CPUs are
 * joined by SYS links ({@code ncclTopoConnectCpus}); a path takes its worst
 * link, and the best path wins.</li>
 * </ul>
 */
public final class NcclSysfsWalk {
    /** NCCL's path types in NCCL's order (best first); the names match vfio-tune's. */
    public enum PathType {
        PIX, PXB, PHB, SYS
    }

    /** What the walk reads of a sysfs, by bus ID ({@code 0000:07:00.0}). */
    public interface Sysfs {
        /** The realpath of {@code /sys/bus/pci/devices/BUSID}, as {@code /sys/devices/pci0000:00/...}. */
        String realpath(String busId);

        /** The content of a device attribute file ({@code numa_node}, {@code vendor}, ...), stripped; empty when the file does not exist. */
        Optional<String> attribute(String busId, String name);

        /**
         * A sysfs from literal realpaths: every bus ID on a path gets the prefix of
         * that path as its own realpath, and the NUMA node given with the path; no IDs
         * (so no Broadcom flattening).
         */
        static Sysfs ofPaths(Map<String, String> numaNodeByPath) {
            Map<String, String> paths = new HashMap<>();
            Map<String, String> numa = new HashMap<>();
            numaNodeByPath.forEach((path, node) -> {
                String[] parts = path.split("/");
                StringBuilder prefix = new StringBuilder();
                for (String part : parts) {
                    if (part.isEmpty()) {
                        continue;
                    }
                    prefix.append('/').append(part);
                    if (isBusId(part)) {
                        String earlier = paths.putIfAbsent(part, prefix.toString());
                        if (earlier != null && !earlier.equals(prefix.toString())) {
                            throw new IllegalArgumentException(part + " has two realpaths: " + earlier + " and " + prefix);
                        }
                        numa.putIfAbsent(part, node);
                    }
                }
            });
            return new Sysfs() {
                @Override
                public String realpath(String busId) {
                    return requireNonNull(paths.get(busId), () -> "no path names " + busId);
                }

                @Override
                public Optional<String> attribute(String busId, String name) {
                    return name.equals("numa_node") ? Optional.ofNullable(numa.get(busId)) : Optional.empty();
                }
            };
        }

        /** A materialized sysfs tree (a host fixture's) under {@code root}: realpaths are read there and shown without the root. */
        static Sysfs ofTree(Path root) {
            Path absoluteRoot;
            try {
                absoluteRoot = root.toRealPath();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new Sysfs() {
                @Override
                public String realpath(String busId) {
                    try {
                        Path real = absoluteRoot.resolve("sys/bus/pci/devices").resolve(busId).toRealPath();
                        if (!real.startsWith(absoluteRoot)) {
                            throw new IllegalStateException(busId + " resolves outside the sysfs tree: " + real);
                        }
                        return "/" + absoluteRoot.relativize(real).toString().replace('\\', '/');
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }

                @Override
                public Optional<String> attribute(String busId, String name) {
                    try {
                        return Optional.of(Files.readString(absoluteRoot.resolve(realpath(busId).substring(1)).resolve(name), StandardCharsets.UTF_8).strip());
                    } catch (NoSuchFileException e) {
                        return Optional.empty();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            };
        }

        /** A booted guest's sysfs as its report shows it: realpaths, numa_node, vendor and device of every PCI function. */
        static Sysfs ofGuest(GuestReport report) {
            return new Sysfs() {
                @Override
                public String realpath(String busId) {
                    return device(busId).path();
                }

                @Override
                public Optional<String> attribute(String busId, String name) {
                    GuestReport.Device device = device(busId);
                    return switch (name) {
                        case "numa_node" -> Optional.of(device.numaNode());
                        case "vendor" -> Optional.of(device.vendor());
                        case "device" -> Optional.of(device.device());
                        case "class" -> Optional.of(device.classCode());
                        default -> Optional.empty();
                    };
                }

                private GuestReport.Device device(String busId) {
                    return report.device(busId).orElseThrow(() -> new IllegalArgumentException("the guest reported no PCI function " + busId));
                }
            };
        }
    }

    /**
     * One NCCL node above a device: a {@code <pci>} switch node (its bus ID) or a
     * CPU (its NUMA id, as the {@code numa_node} file says it, -1 included).
     */
    public record Node(boolean cpu, String id) {
        @Override
        public String toString() {
            return cpu ? "CPU(numa " + id + ")" : id;
        }
    }

    /** A device's parents as the XML walk finds them, nearest first, ending in its CPU; before any flattening. */
    public record Chain(String device, List<Node> parents) {
        public Chain {
            parents = List.copyOf(parents);
        }

        /** The switch nodes, top first. */
        public List<String> switches() {
            List<String> switches = new ArrayList<>();
            for (Node node : parents) {
                if (!node.cpu()) {
                    switches.add(0, node.id());
                }
            }
            return switches;
        }

        public Node cpu() {
            return parents.get(parents.size() - 1);
        }
    }

    private final Sysfs sysfs;
    private final Map<String, Chain> chains = new LinkedHashMap<>();

    public NcclSysfsWalk(Sysfs sysfs) {
        this.sysfs = requireNonNull(sysfs, "sysfs is null");
    }

    /** The walk of xml.cc for one device: its switch nodes, then its CPU. */
    public Chain chain(String busId) {
        return chains.computeIfAbsent(busId, device -> {
            List<Node> parents = new ArrayList<>();
            String current = device;
            for (int depth = 0; ; depth++) {
                if (depth > 64) {
                    throw new IllegalStateException("the walk from " + device + " does not end: " + parents);
                }
                Node parent = parentOf(sysfs.realpath(current), numaNode(current));
                parents.add(parent);
                if (parent.cpu()) {
                    return new Chain(device, parents);
                }
                current = parent.id();
            }
        });
    }

    private String numaNode(String busId) {
        return sysfs.attribute(busId, "numa_node").orElseThrow(() -> new IllegalArgumentException(busId + " has no numa_node"));
    }

    /**
     * The loop of {@code ncclTopoGetXmlFromSys} on one realpath string: from the end,
     * each '/' cuts the path there; the component now last is either no bus ID (a CPU
     * root complex: stop with the walking node's NUMA id) or, at the second cut, the
     * upper switch to continue on.
     */
    static Node parentOf(String realpath, String numaNode) {
        StringBuilder path = new StringBuilder(realpath);
        int slashCount = 0;
        for (int parentOffset = path.length() - 1; parentOffset > 0; parentOffset--) {
            if (path.charAt(parentOffset) == '/') {
                slashCount++;
                path.setLength(parentOffset);
                int start = parentOffset - 1;
                while (start > 0 && path.charAt(start) != '/') {
                    start--;
                }
                String last = path.substring(start + 1);
                if (!isBusId(last)) {
                    return new Node(true, numaNode);
                } else if (slashCount == 2) {
                    return new Node(false, last);
                }
            }
        }
        throw new IllegalArgumentException("NCCL finds no parent on " + realpath);
    }

    /** {@code checkBDFFormat}: twelve characters, BBBB:BB:DD.F with hex digits. */
    static boolean isBusId(String text) {
        if (text.length() != 12 || text.charAt(4) != ':' || text.charAt(7) != ':' || text.charAt(10) != '.') {
            return false;
        }
        for (int i : new int[] {0, 1, 2, 3, 5, 6, 8, 9, 11}) {
            if (Character.digit(text.charAt(i), 16) < 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * The NCCL topology of these devices: CPUs, switch nodes and the devices, Broadcom
     * switches flattened; then the path type between every two of them.
     */
    public Topology topology(List<String> devices) {
        return new Topology(devices);
    }

    public PathType between(String a, String b) {
        return topology(List.of(a, b)).between(a, b);
    }

    /** One NCCL system: a tree under each CPU, the CPUs joined to each other. */
    public final class Topology {
        private final class Vertex {
            final String key;
            final boolean cpu;
            final boolean pciSwitch;
            long pciId;
            /** The vertex above: the parent NCCL links it to (a CPU has none). */
            Vertex parent;
            final List<Vertex> links = new ArrayList<>();

            Vertex(String key, boolean cpu, boolean pciSwitch) {
                this.key = key;
                this.cpu = cpu;
                this.pciSwitch = pciSwitch;
            }

            @Override
            public String toString() {
                return key;
            }
        }

        private final Map<String, Vertex> vertices = new LinkedHashMap<>();
        /** Switch nodes in the order NCCL creates them: depth first from each CPU, a parent before its children. */
        private final List<Vertex> switchOrder = new ArrayList<>();
        private final Map<String, Vertex> devices = new LinkedHashMap<>();

        private Topology(List<String> busIds) {
            Map<Vertex, List<Vertex>> children = new LinkedHashMap<>();
            List<Vertex> cpus = new ArrayList<>();
            for (String busId : busIds) {
                Chain chain = chain(busId);
                Vertex below = vertex("dev:" + busId, false, false);
                devices.put(busId, below);
                for (Node node : chain.parents()) {
                    boolean created = !vertices.containsKey(key(node));
                    Vertex above = vertex(key(node), node.cpu(), !node.cpu());
                    if (created && node.cpu()) {
                        cpus.add(above);
                    }
                    if (!above.links.contains(below)) {
                        link(above, below);
                        below.parent = above;
                        children.computeIfAbsent(above, key -> new ArrayList<>()).add(below);
                    }
                    if (!created) {
                        break;
                    }
                    below = above;
                }
            }
            for (Vertex cpu : cpus) {
                preorder(cpu, children);
            }
            for (Vertex vertex : switchOrder) {
                vertex.pciId = pciId(vertex.key.substring("pci:".length()));
            }
            flattenBroadcomSwitches();
            for (int i = 0; i < cpus.size(); i++) {
                for (int j = i + 1; j < cpus.size(); j++) {
                    link(cpus.get(i), cpus.get(j));
                }
            }
        }

        private void preorder(Vertex vertex, Map<Vertex, List<Vertex>> children) {
            if (vertex.pciSwitch) {
                switchOrder.add(vertex);
            }
            for (Vertex child : children.getOrDefault(vertex, List.of())) {
                preorder(child, children);
            }
        }

        private String key(Node node) {
            return (node.cpu() ? "cpu:" : "pci:") + node.id();
        }

        private Vertex vertex(String key, boolean cpu, boolean pciSwitch) {
            return vertices.computeIfAbsent(key, k -> new Vertex(k, cpu, pciSwitch));
        }

        private void link(Vertex a, Vertex b) {
            a.links.add(b);
            b.links.add(a);
        }

        /** {@code ncclTopoGetIntDevice}: vendor, device, subsystem vendor and subsystem device, each read with strtol. */
        private long pciId(String busId) {
            long vendor = number(busId, "vendor");
            if (vendor == 0x1000) {
                // Only Broadcom's IDs decide anything here; a sysfs without the subsystem files cannot say.
                for (String name : List.of("subsystem_vendor", "subsystem_device")) {
                    if (sysfs.attribute(busId, name).isEmpty()) {
                        throw new IllegalStateException("the Broadcom switch " + busId + " has no " + name + ": cannot tell whether NCCL flattens it");
                    }
                }
            }
            return (vendor << 48) + (number(busId, "device") << 32) + (number(busId, "subsystem_vendor") << 16) + number(busId, "subsystem_device");
        }

        private long number(String busId, String name) {
            return sysfs.attribute(busId, name).map(value -> Long.decode(value.strip())).orElse(0L);
        }

        private static int broadcomGeneration(long id, int level) {
            if ((id & 0xfffffffffffff000L) == 0x1000c0101000a000L) {
                return 4;
            }
            if ((id & 0xfffffffffffff000L) == (0x1000c03010000000L | level * 0x1000L)) {
                return 5;
            }
            return 0;
        }

        private void flattenBroadcomSwitches() {
            for (int s = 0; s < switchOrder.size(); s++) {
                Vertex upper = switchOrder.get(s);
                int generation = broadcomGeneration(upper.pciId, 0);
                if (generation == 0) {
                    continue;
                }
                List<Vertex> subs = new ArrayList<>();
                for (Vertex linked : List.copyOf(upper.links)) {
                    if (linked.pciSwitch && broadcomGeneration(linked.pciId, 1) == generation) {
                        subs.add(linked);
                        upper.links.remove(linked);
                    }
                }
                for (Vertex sub : subs) {
                    for (Vertex below : sub.links) {
                        if (below == upper) {
                            continue;
                        }
                        upper.links.add(below);
                        below.links.set(below.links.indexOf(sub), upper);
                        below.parent = upper;
                    }
                    sub.links.clear();
                    switchOrder.remove(sub);
                    vertices.values().remove(sub);
                }
                upper.pciId |= 0xffff;
                s = -1;
            }
        }

        /** The switch nodes above a device after flattening, top first. */
        public List<String> switches(String busId) {
            List<String> above = new ArrayList<>();
            for (Vertex vertex = device(busId).parent; vertex.pciSwitch; vertex = vertex.parent) {
                above.add(0, vertex.key.substring("pci:".length()));
            }
            return above;
        }

        private Vertex device(String busId) {
            return requireNonNull(devices.get(busId), () -> busId + " is not a device of this topology");
        }

        /**
         * paths.cc's rule: every link has a type (PCI link PIX; PXB between two
         * switch nodes; PHB with a CPU at either end; SYS between CPUs), a path takes
         * its worst link, and the best path between the two devices wins. Paths do
         * not run through another device.
         */
        public PathType between(String a, String b) {
            Vertex from = device(a);
            Vertex to = device(b);
            Map<Vertex, PathType> best = new HashMap<>();
            best.put(from, null);
            List<Vertex> frontier = new ArrayList<>(List.of(from));
            while (!frontier.isEmpty()) {
                List<Vertex> next = new ArrayList<>();
                for (Vertex vertex : frontier) {
                    if (vertex != from && devices.containsValue(vertex)) {
                        continue;
                    }
                    for (Vertex linked : vertex.links) {
                        PathType type = max(best.get(vertex), linkType(vertex, linked));
                        if (!best.containsKey(linked) || (best.get(linked) != null && type.compareTo(best.get(linked)) < 0)) {
                            best.put(linked, type);
                            next.add(linked);
                        }
                    }
                }
                frontier = next;
            }
            return requireNonNull(best.get(to), () -> "no path from " + a + " to " + b);
        }

        private PathType linkType(Vertex a, Vertex b) {
            if (a.cpu && b.cpu) {
                return PathType.SYS;
            }
            if (a.cpu || b.cpu) {
                return PathType.PHB;
            }
            if (a.pciSwitch && b.pciSwitch) {
                return PathType.PXB;
            }
            return PathType.PIX;
        }

        private PathType max(PathType a, PathType b) {
            return a == null || b.compareTo(a) > 0 ? b : a;
        }
    }
}
