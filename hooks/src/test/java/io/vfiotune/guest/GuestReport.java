package io.vfiotune.guest;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What the booted guest's kernel saw, parsed from the lines {@link GuestInit}
 * printed between its markers: the PCI buses, the PCI functions and the NUMA nodes.
 */
public record GuestReport(String kernel, String uptime, String nodesOnline, String nodesPossible, List<Bus> buses, List<Device> devices, List<Resource> resources,
        String firmware, List<String> kernelLog) {

    public GuestReport {
        buses = List.copyOf(buses);
        devices = List.copyOf(devices);
        resources = List.copyOf(resources);
        kernelLog = List.copyOf(kernelLog);
    }

    /**
     * One non-zero line of a function's sysfs {@code resource} file: {@code index}
     * 0-5 are its BARs; start and end 0 with flags set is a BAR the kernel left unassigned.
     */
    public record Resource(String address, int index, long start, long end, long flags) {
        public static final long IORESOURCE_MEM = 0x200;
        public static final long IORESOURCE_PREFETCH = 0x2000;
        public static final long IORESOURCE_MEM_64 = 0x100000;

        public boolean assigned() {
            return start != 0 && Long.compareUnsigned(end, start) > 0;
        }

        public long size() {
            return assigned() ? end - start + 1 : 0;
        }

        public boolean isPrefetchable64() {
            long wanted = IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_MEM_64;
            return (flags & wanted) == wanted;
        }
    }

    /** The resource line {@code index} of a function, empty when it is all zero (no such BAR, or one the kernel gave up on). */
    public Optional<Resource> resource(String address, int index) {
        return resources.stream().filter(resource -> resource.address().equals(address) && resource.index() == index).findFirst();
    }

    /**
     * One PCI bus of {@code /sys/class/pci_bus}: {@code bridge} is the realpath of
     * the device above it (a host bridge {@code /sys/devices/pciDDDD:BB} for a root
     * bus), {@code ofNode} the realpath of its device tree node, or "-".
     */
    public record Bus(String name, String bridge, String ofNode) {
        /** The PCI domain, {@code 0001} of {@code 0001:00}. */
        public String domain() {
            return name.substring(0, name.indexOf(':'));
        }

        public boolean isRoot() {
            return bridge.matches(".*/pci[0-9a-f]{4,}:[0-9a-f]{2}");
        }
    }

    /** One PCI function as the guest's sysfs shows it; {@code path} is the realpath, so it names every bridge above. */
    public record Device(String address, String vendor, String device, String classCode, String numaNode, String path, String ofNode) {
        public String domain() {
            return address.substring(0, address.indexOf(':'));
        }

        /** The guest's NUMA node of the function, empty when the kernel says -1 (none) or has no NUMA. */
        public OptionalInt node() {
            return numaNode.matches("\\d+") ? OptionalInt.of(Integer.parseInt(numaNode)) : OptionalInt.empty();
        }

        /** The host bridge the function hangs under: {@code pci0001:00} of its path. */
        public String hostBridge() {
            String[] parts = path.split("/");
            return parts.length > 3 ? parts[3] : "-";
        }

        /** How many PCI bridges sit between the host bridge and the function (0: on the root bus). */
        public int bridgesAbove() {
            return (int) List.of(path.split("/")).stream().filter(part -> part.matches("[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]")).count() - 1;
        }
    }

    public Optional<Device> device(String address) {
        return devices.stream().filter(device -> device.address().equals(address)).findFirst();
    }

    public Optional<Bus> bus(String name) {
        return buses.stream().filter(bus -> bus.name().equals(name)).findFirst();
    }

    /** The PCI domains the guest has, in order. */
    public List<String> domains() {
        return List.copyOf(buses.stream().map(Bus::domain).collect(Collectors.toCollection(TreeSet::new)));
    }

    /**
     * Parses a whole console log. Lines outside the markers, and lines inside that
     * are no report record (a kernel message printed meanwhile), are skipped.
     *
     * @throws IllegalArgumentException when the END marker is missing: the guest did not finish its report
     */
    public static GuestReport parse(String consoleLog) {
        List<String> lines = consoleLog.replace("\r", "").lines().toList();
        int begin = lines.indexOf(GuestInit.BEGIN);
        int end = lines.lastIndexOf(GuestInit.END);
        if (begin < 0 || end < begin) {
            throw new IllegalArgumentException("the guest's report is incomplete: " + (begin < 0 ? "no '" + GuestInit.BEGIN + "' line" : "no '" + GuestInit.END + "' line after its BEGIN"));
        }
        String kernel = "-";
        String uptime = "-";
        String online = "-";
        String possible = "-";
        List<Bus> buses = new ArrayList<>();
        List<Device> devices = new ArrayList<>();
        List<Resource> resources = new ArrayList<>();
        String firmware = "-";
        List<String> kernelLog = new ArrayList<>();
        for (String line : lines.subList(begin + 1, end)) {
            String[] words = line.split(" ");
            Map<String, String> fields = fields(words);
            switch (words[0]) {
                case "kernel" -> kernel = line.substring("kernel ".length());
                case "uptime" -> uptime = words.length > 1 ? words[1] : "-";
                case "nodes" -> {
                    online = fields.getOrDefault("online", "-");
                    possible = fields.getOrDefault("possible", "-");
                }
                case "bus" -> {
                    if (words.length > 1 && fields.containsKey("bridge")) {
                        buses.add(new Bus(words[1], fields.get("bridge"), fields.getOrDefault("of_node", "-")));
                    }
                }
                case "pci" -> {
                    if (words.length > 1 && fields.keySet().containsAll(List.of("vendor", "device", "class", "numa_node", "path"))) {
                        devices.add(new Device(words[1], fields.get("vendor"), fields.get("device"), fields.get("class"), fields.get("numa_node"),
                                fields.get("path"), fields.getOrDefault("of_node", "-")));
                    }
                }
                case "res" -> {
                    if (words.length == 6 && words[2].matches("\\d+") && Stream.of(words[3], words[4], words[5]).allMatch(word -> word.matches("0x[0-9a-f]{1,16}"))) {
                        resources.add(new Resource(words[1], Integer.parseInt(words[2]), hex(words[3]), hex(words[4]), hex(words[5])));
                    }
                }
                case "firmware" -> firmware = words.length > 1 ? words[1] : "-";
                case "klog" -> kernelLog.add(line.substring("klog".length()).strip());
                default -> {
                    // a kernel message between the markers
                }
            }
        }
        return new GuestReport(kernel, uptime, online, possible, buses, devices, resources, firmware, kernelLog);
    }

    private static long hex(String word) {
        return Long.parseUnsignedLong(word.substring(2), 16);
    }

    private static Map<String, String> fields(String[] words) {
        Map<String, String> fields = new HashMap<>();
        for (String word : words) {
            int equals = word.indexOf('=');
            if (equals > 0) {
                fields.put(word.substring(0, equals), word.substring(equals + 1));
            }
        }
        return fields;
    }

    /** A readable listing for test output. */
    public String render() {
        StringBuilder text = new StringBuilder();
        text.append("kernel ").append(kernel).append(", report written ").append(uptime).append(" s after the kernel started\n");
        text.append("NUMA nodes online ").append(nodesOnline).append(", possible ").append(nodesPossible).append('\n');
        for (Bus bus : buses) {
            text.append("bus ").append(bus.name()).append("  bridge ").append(bus.bridge());
            if (!bus.ofNode().equals("-")) {
                text.append("  of_node ").append(bus.ofNode());
            }
            text.append('\n');
        }
        for (Device device : devices) {
            text.append("  ").append(device.address()).append(' ').append(device.vendor()).append(':').append(device.device())
                    .append(" class ").append(device.classCode()).append(" node ").append(device.numaNode())
                    .append("  ").append(device.path()).append('\n');
        }
        return text.toString();
    }
}
