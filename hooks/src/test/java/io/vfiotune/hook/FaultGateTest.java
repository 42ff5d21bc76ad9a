package io.vfiotune.hook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * What the prepare gate does with each sysfs fault of a passed-through T4
 * (the decision table in docs/operators.md): faults that spoil what a plan decides
 * from refuse it with HOSTDEV-UNREADABLE, a missing IOMMU group or NUMA node
 * only warns or does nothing, and a missing device refuses.
 */
class FaultGateTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final String T4 = "0000:03:00.0";

    enum Fault {
        ALL_ONES(2, "error [HOSTDEV-UNREADABLE] 0000:03:00.0: the probe could not read what its peer-to-peer reach depends on [PROBE-ALL-FF"),
        CYCLIC_CAPABILITIES(2, "error [HOSTDEV-UNREADABLE] 0000:03:00.0: the probe could not read what its peer-to-peer reach depends on [PROBE-CAP-LOOP"),
        POINTER_OUT_OF_RANGE(2, "error [HOSTDEV-UNREADABLE] 0000:03:00.0: the probe could not read what its peer-to-peer reach depends on [PROBE-CAP-POINTER"),
        HEADER_ONLY(2, "error [HOSTDEV-UNREADABLE] 0000:03:00.0: the probe could not read what its peer-to-peer reach depends on [PROBE-HEADER-ONLY"),
        UNREADABLE_CONFIG(2, "error [HOSTDEV-UNREADABLE] 0000:03:00.0: the probe could not read what its peer-to-peer reach depends on [PROBE-UNREADABLE"),
        VANISHED(2, "error [HOSTDEV-MISSING] 0000:03:00.0: this host has no such PCI function"),
        NO_IOMMU_GROUP(0, "warning [HOSTDEV-NO-GROUP] 0000:03:00.0: the host puts this device in no IOMMU group"),
        DANGLING_DRIVER_LINK(0, "warning [HOSTDEV-NOT-VFIO] 0000:03:00.0: bound to gone; libvirt will rebind it to vfio-pci at start"),
        NO_NUMA_NODE(0, null),
        NO_RESOURCE_FILE(0, null);

        final int status;
        final String finding;

        Fault(int status, String finding) {
            this.status = status;
            this.finding = finding;
        }
    }

    @ParameterizedTest
    @EnumSource(Fault.class)
    void gateAnswersEachFault(Fault fault, @TempDir Path work) throws IOException {
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(work.resolve("sysfs"));
        Path device = sysfs.resolve("sys/bus/pci/devices").resolve(T4).toRealPath();
        damage(fault, device);
        Path config = Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\n");
        byte[] applied = Files.readAllBytes(ROOT.resolve("src/golden/clique-t4-pair-switch/expected.xml"));
        CliRun.Result gate = CliRun.runWithConfig(applied, config, "hook", "vt-fault", "prepare", "begin", "-");
        assertEquals(fault.status, gate.status(), gate.stderr());
        if (fault.finding != null) {
            assertTrue(gate.stderr().lines().anyMatch(line -> line.startsWith("vfio-tune: " + fault.finding)), gate.stderr());
        } else {
            assertEquals("", gate.stderr(), "a fault the clique plan does not read changes nothing");
        }
        assertEquals("", gate.stdout(), "the gate never prints XML");
        assertTrue(!gate.stderr().contains("\tat "), "no stack trace");
    }

    private static void damage(Fault fault, Path device) throws IOException {
        Path config = device.resolve("config");
        byte[] bytes = Files.readAllBytes(config);
        switch (fault) {
            case ALL_ONES -> {
                Arrays.fill(bytes, (byte) 0xff);
                Files.write(config, bytes);
            }
            case CYCLIC_CAPABILITIES -> {
                bytes[0xc9] = (byte) 0x60; // MSI-X points back at the first capability
                Files.write(config, bytes);
            }
            case POINTER_OUT_OF_RANGE -> {
                bytes[0x79] = (byte) 0x20; // into the header
                Files.write(config, bytes);
            }
            case HEADER_ONLY -> Files.write(config, Arrays.copyOf(bytes, 64));
            case UNREADABLE_CONFIG -> {
                Files.delete(config);
                Files.createDirectory(config);
            }
            case VANISHED -> deleteTree(device);
            case NO_IOMMU_GROUP -> Files.delete(device.resolve("iommu_group"));
            case DANGLING_DRIVER_LINK -> {
                Path driver = device.resolve("driver");
                Files.delete(driver);
                Files.createSymbolicLink(driver, Path.of("../../../bus/pci/drivers/gone"));
            }
            case NO_NUMA_NODE -> Files.delete(device.resolve("numa_node"));
            case NO_RESOURCE_FILE -> Files.delete(device.resolve("resource"));
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (var paths = Files.walk(root)) {
            for (Path path : paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(path);
            }
        }
    }
}
