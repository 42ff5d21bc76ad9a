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
 * code counts as much as an import, and a javadoc link counts for nothing. The rules are the
 * ones docs/architecture.md explains.
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
                TRANSFORMS + ".layout", "io.vfiotune.cli", "io.vfiotune.gate", "io.vfiotune.hook", "io.vfiotune.adapters", "io.vfiotune.wiring")) {
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
