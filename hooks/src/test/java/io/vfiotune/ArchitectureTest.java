package io.vfiotune;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which package may use which, read from the compiled classes (every type a class file names
 * in its constant pool: fields, signatures, calls, annotations), so a fully qualified name in
 * code counts as much as an import, and a javadoc link counts for nothing. A compile-time
 * constant of another class is copied into the class that reads it and leaves no trace here;
 * such a use is the one dependency this test cannot see. The rules are the ones
 * docs/architecture.md explains.
 */
class ArchitectureTest {
    private static final Pattern TYPE = Pattern.compile("(io/vfiotune/[\\w/$]+|com/sun/jna/[\\w/$]+)");
    private static final Set<String> FEATURES = Set.of("cliques", "msix", "spapr", "igd", "topology", "grace");
    private static final String TRANSFORMS = "io.vfiotune.xml.transforms";

    /** Each production class of vfio-tune, by name, with the types it uses. */
    private static Map<String, Set<String>> uses;

    @BeforeAll
    static void readClasses() throws IOException {
        uses = new TreeMap<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path path = Path.of(entry);
            if (Files.isDirectory(path) && !path.endsWith("test-classes")) {
                try (Stream<Path> files = Files.walk(path)) {
                    for (Path file : files.filter(f -> f.toString().endsWith(".class") && path.relativize(f).toString().startsWith("io/vfiotune/")).toList()) {
                        read(path.relativize(file).toString(), Files.readAllBytes(file));
                    }
                }
            } else if (Files.isRegularFile(path) && path.getFileName().toString().startsWith("vfio-tune-")) {
                try (JarFile jar = new JarFile(path.toFile())) {
                    for (JarEntry classFile : jar.stream().filter(e -> e.getName().startsWith("io/vfiotune/") && e.getName().endsWith(".class")).toList()) {
                        try (InputStream in = jar.getInputStream(classFile)) {
                            read(classFile.getName(), in.readAllBytes());
                        }
                    }
                }
            }
        }
    }

    @Test
    void everyPackageIsThere() {
        for (String pkg : List.of("io.vfiotune.spi", "io.vfiotune.pci", "io.vfiotune.platform", "io.vfiotune.probe.sysfs", "io.vfiotune.xml.engine",
                TRANSFORMS + ".layout", "io.vfiotune.probe.facts", "io.vfiotune.cli", "io.vfiotune.planning", "io.vfiotune.gate", "io.vfiotune.hook", "io.vfiotune.apply",
                "io.vfiotune.adapters", "io.vfiotune.report", "io.vfiotune.wiring")) {
            assertTrue(classesIn(name -> packageOf(name).equals(pkg)).size() >= 1, "no class read in " + pkg + ": the test would judge nothing");
        }
        for (String feature : FEATURES) {
            assertTrue(!classesIn(name -> packageOf(name).equals(TRANSFORMS + "." + feature)).isEmpty(), "no class read for the feature " + feature);
        }
    }

    /** The contract changes only when the contract does: never because a QEMU, kernel or NCCL rule did. */
    @Test
    void theContractUsesOnlyItselfAndThePciModel() {
        assertOnly(name -> packageOf(name).equals("io.vfiotune.spi"),
                type -> packageOf(type).equals("io.vfiotune.spi") || packageOf(type).equals("io.vfiotune.pci"));
    }

    /** The PCI model is what the specifications say; its one edge out is the Finding a read fault is. */
    @Test
    void thePciModelUsesOnlyItselfAndFindings() {
        assertOnly(name -> packageOf(name).equals("io.vfiotune.pci"),
                type -> packageOf(type).equals("io.vfiotune.pci") || type.equals("io.vfiotune.spi.Finding") || type.equals("io.vfiotune.spi.Severity"));
    }

    @Test
    void thePlatformRulesStayInsidePluginApi() {
        assertOnly(name -> packageOf(name).equals("io.vfiotune.platform"),
                type -> Set.of("io.vfiotune.spi", "io.vfiotune.pci", "io.vfiotune.platform").contains(packageOf(type)));
    }

    /** A feature's transform gets the domain and the host through the SPI only; what features share is in layout. */
    @Test
    void aTransformUsesNoOtherFeatureAndNothingButTheSpi() {
        for (String feature : FEATURES) {
            String own = TRANSFORMS + "." + feature;
            assertOnly(name -> packageOf(name).equals(own),
                    type -> Set.of("io.vfiotune.spi", "io.vfiotune.pci", "io.vfiotune.platform", own, TRANSFORMS + ".layout").contains(packageOf(type)));
        }
        assertOnly(name -> packageOf(name).equals(TRANSFORMS + ".layout"),
                type -> Set.of("io.vfiotune.spi", "io.vfiotune.pci", "io.vfiotune.platform", TRANSFORMS + ".layout").contains(packageOf(type)));
    }

    /** Native code is one room: nothing but the probe's libc binding reaches JNA. */
    @Test
    void onlyTheNativeProbeTouchesJna() {
        assertOnly(name -> !name.startsWith("io.vfiotune.probe."), type -> !type.startsWith("com.sun.jna."));
    }

    /** plugin-api, then native-probe and xml-transforms beside each other, then hooks: no arrow back up. */
    @Test
    void modulesUseOnlyTheModulesBelowThem() {
        Predicate<String> pluginApi = type -> Set.of("io.vfiotune.spi", "io.vfiotune.pci", "io.vfiotune.platform").contains(packageOf(type));
        assertOnly(name -> name.startsWith("io.vfiotune.probe."), type -> !type.startsWith("io.vfiotune.") || pluginApi.test(type) || type.startsWith("io.vfiotune.probe."));
        assertOnly(name -> name.startsWith("io.vfiotune.xml."), type -> !type.startsWith("io.vfiotune.") || pluginApi.test(type) || type.startsWith("io.vfiotune.xml."));
    }

    /** The command line sits on top: the gate, apply, the adapters and the reports never reach back into it. */
    @Test
    void nothingButTheCommandLineUsesIt() {
        assertOnly(name -> !packageOf(name).equals("io.vfiotune.cli"), type -> !packageOf(type).equals("io.vfiotune.cli"));
    }

    /**
     * No two packages use each other, directly or around a circle, but the one edge the PCI
     * model has to the contract (a read fault is a Finding): a reader can take the packages in
     * an order.
     */
    @Test
    void packagesFormNoCycle() {
        Map<String, Set<String>> graph = new TreeMap<>();
        for (Map.Entry<String, Set<String>> entry : uses.entrySet()) {
            Set<String> edges = graph.computeIfAbsent(packageOf(entry.getKey()), pkg -> new TreeSet<>());
            entry.getValue().stream().filter(type -> type.startsWith("io.vfiotune.")).map(ArchitectureTest::packageOf)
                    .filter(pkg -> !pkg.equals(packageOf(entry.getKey()))).forEach(edges::add);
        }
        List<Set<String>> cycles = new ArrayList<>();
        for (Set<String> component : stronglyConnected(graph)) {
            if (component.size() > 1 && !component.equals(Set.of("io.vfiotune.spi", "io.vfiotune.pci"))) {
                cycles.add(component);
            }
        }
        assertEquals(List.of(), cycles);
    }

    /** Tarjan's strongly connected components. */
    private static List<Set<String>> stronglyConnected(Map<String, Set<String>> graph) {
        Map<String, Integer> index = new TreeMap<>();
        Map<String, Integer> low = new TreeMap<>();
        java.util.Deque<String> stack = new java.util.ArrayDeque<>();
        Set<String> onStack = new TreeSet<>();
        List<Set<String>> components = new ArrayList<>();
        for (String start : graph.keySet()) {
            if (!index.containsKey(start)) {
                connect(start, graph, index, low, stack, onStack, components);
            }
        }
        return components;
    }

    private static void connect(String node, Map<String, Set<String>> graph, Map<String, Integer> index, Map<String, Integer> low,
            java.util.Deque<String> stack, Set<String> onStack, List<Set<String>> components) {
        index.put(node, index.size());
        low.put(node, index.get(node));
        stack.push(node);
        onStack.add(node);
        for (String next : graph.getOrDefault(node, Set.of())) {
            if (!index.containsKey(next)) {
                connect(next, graph, index, low, stack, onStack, components);
                low.put(node, Math.min(low.get(node), low.get(next)));
            } else if (onStack.contains(next)) {
                low.put(node, Math.min(low.get(node), index.get(next)));
            }
        }
        if (low.get(node).equals(index.get(node))) {
            Set<String> component = new TreeSet<>();
            String member;
            do {
                member = stack.pop();
                onStack.remove(member);
                component.add(member);
            } while (!member.equals(node));
            components.add(component);
        }
    }

    private static void assertOnly(Predicate<String> classes, Predicate<String> allowed) {
        List<String> wrong = new ArrayList<>();
        for (String name : classesIn(classes)) {
            for (String type : uses.get(name)) {
                if (type.startsWith("io.vfiotune.") || type.startsWith("com.sun.jna.")) {
                    if (!allowed.test(type) && !topLevel(type).equals(topLevel(name))) {
                        wrong.add(topLevel(name) + " uses " + topLevel(type));
                    }
                }
            }
        }
        assertEquals(List.of(), new ArrayList<>(new TreeSet<>(wrong)));
    }

    private static Set<String> classesIn(Predicate<String> filter) {
        assertTrue(uses.size() > 100, "read only " + uses.size() + " classes from " + System.getProperty("java.class.path"));
        Set<String> names = new TreeSet<>();
        uses.keySet().stream().filter(filter).forEach(names::add);
        return names;
    }

    private static String topLevel(String type) {
        int nested = type.indexOf('$');
        return nested < 0 ? type : type.substring(0, nested);
    }

    private static String packageOf(String type) {
        String top = topLevel(type);
        return top.substring(0, top.lastIndexOf('.'));
    }

    /** Collects the types a class file names: its class entries and every descriptor and signature in its UTF-8 constants. */
    private static void read(String file, byte[] bytes) throws IOException {
        String name = file.substring(0, file.length() - ".class".length()).replace('/', '.');
        if (name.endsWith("package-info") || name.endsWith("module-info")) {
            return;
        }
        Set<String> types = new TreeSet<>();
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            if (in.readInt() != 0xCAFEBABE) {
                throw new IOException(file + " is no class file");
            }
            in.readUnsignedShort();
            in.readUnsignedShort();
            int count = in.readUnsignedShort();
            for (int index = 1; index < count; index++) {
                int tag = in.readUnsignedByte();
                switch (tag) {
                    case 1 -> {
                        Matcher matcher = TYPE.matcher(in.readUTF());
                        while (matcher.find()) {
                            types.add(matcher.group(1).replace('/', '.'));
                        }
                    }
                    case 3, 4 -> in.readInt();
                    case 5, 6 -> {
                        in.readLong();
                        index++; // a long or double takes two entries
                    }
                    case 7, 8, 16, 19, 20 -> in.readUnsignedShort();
                    case 9, 10, 11, 12, 17, 18 -> in.readInt();
                    case 15 -> {
                        in.readUnsignedByte();
                        in.readUnsignedShort();
                    }
                    default -> throw new IOException(file + ": constant pool tag " + tag + " unknown");
                }
            }
        }
        types.removeIf(type -> type.equals(name));
        uses.put(name, types);
    }
}
