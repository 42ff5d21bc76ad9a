package io.vfiotune.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.guest.NcclSysfsWalk.Node;
import io.vfiotune.guest.NcclSysfsWalk.PathType;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The test-side NCCL walk on literal sysfs paths, and on materialized trees for Broadcom's flattening. */
class NcclSysfsWalkTest {
    private static final Path HOSTS = Path.of(System.getProperty("vfio-tune.root", "..")).resolve("src/hosts");

    @TempDir
    Path work;

    private static NcclSysfsWalk walk(String... pathsAndNodes) {
        Map<String, String> paths = new LinkedHashMap<>();
        for (int i = 0; i < pathsAndNodes.length; i += 2) {
            paths.put(pathsAndNodes[i], pathsAndNodes[i + 1]);
        }
        return new NcclSysfsWalk(NcclSysfsWalk.Sysfs.ofPaths(paths));
    }

    @Test
    void checkBdfFormatAsNccl() {
        assertTrue(NcclSysfsWalk.isBusId("0000:f3:00.0"));
        assertTrue(NcclSysfsWalk.isBusId("abcd:ef:1f.7"));
        assertFalse(NcclSysfsWalk.isBusId("pci0000:f3"));
        assertFalse(NcclSysfsWalk.isBusId("0000:f3:00.00"));
        assertFalse(NcclSysfsWalk.isBusId("0000:g3:00.0"));
    }

    /** xml.cc's loop on single strings: the second cut names the parent, a non-bus-ID component is the CPU. */
    @Test
    void parentOfLiteralPaths() {
        assertEquals(new Node(true, "0"), NcclSysfsWalk.parentOf("/sys/devices/pci0000:00/0000:00:02.0", "0"));
        assertEquals(new Node(true, "1"), NcclSysfsWalk.parentOf("/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0", "1"));
        assertEquals(new Node(false, "0000:f4:00.0"), NcclSysfsWalk.parentOf("/sys/devices/pci0000:f3/0000:f3:00.0/0000:f4:00.0/0000:f5:00.0/0000:f6:00.0", "-1"));
        assertEquals(new Node(true, "-1"), NcclSysfsWalk.parentOf("/sys/devices/pci0000:f3/0000:f3:00.0/0000:f4:00.0", "-1"));
    }

    /** A device on a root port: no switch node, its CPU directly; with another such device PHB. */
    @Test
    void rootPortDevicesMeetInTheCpu() {
        NcclSysfsWalk walk = walk("/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0", "0", "/sys/devices/pci0000:40/0000:40:01.1/0000:41:00.0", "0");
        assertEquals(List.of(), walk.chain("0000:01:00.0").switches());
        assertEquals(new Node(true, "0"), walk.chain("0000:01:00.0").cpu());
        assertEquals(PathType.PHB, walk.between("0000:01:00.0", "0000:41:00.0"));
    }

    /** Two devices on downstream ports of one switch: the upstream port is their one switch node, PIX. */
    @Test
    void oneSwitchIsPix() {
        NcclSysfsWalk walk = walk("/sys/devices/pci0000:f3/0000:f3:00.0/0000:f4:00.0/0000:f5:00.0/0000:f6:00.0", "2",
                "/sys/devices/pci0000:f3/0000:f3:00.0/0000:f4:00.0/0000:f5:01.0/0000:f7:00.0", "2");
        assertEquals(List.of("0000:f4:00.0"), walk.chain("0000:f6:00.0").switches());
        assertEquals(new Node(true, "2"), walk.chain("0000:f6:00.0").cpu());
        assertEquals(PathType.PIX, walk.between("0000:f6:00.0", "0000:f7:00.0"));
    }

    /** A switch below a switch: two switch nodes on one side, PXB; a device on another root port of the node PHB. */
    @Test
    void nestedSwitchIsPxb() {
        NcclSysfsWalk walk = walk("/sys/devices/pci0000:f3/0000:f3:00.0/0000:f4:00.0/0000:f5:00.0/0000:f6:00.0/0000:f7:00.0/0000:f8:00.0", "0",
                "/sys/devices/pci0000:f3/0000:f3:00.0/0000:f4:00.0/0000:f5:01.0/0000:f9:00.0", "0",
                "/sys/devices/pci0000:f3/0000:f3:01.0/0000:fa:00.0", "0");
        assertEquals(List.of("0000:f4:00.0", "0000:f6:00.0"), walk.chain("0000:f8:00.0").switches());
        NcclSysfsWalk.Topology topology = walk.topology(List.of("0000:f8:00.0", "0000:f9:00.0", "0000:fa:00.0"));
        assertEquals(PathType.PXB, topology.between("0000:f8:00.0", "0000:f9:00.0"));
        assertEquals(PathType.PHB, topology.between("0000:f8:00.0", "0000:fa:00.0"));
        assertEquals(PathType.PHB, topology.between("0000:f9:00.0", "0000:fa:00.0"));
    }

    /** Different NUMA nodes: different CPU nodes, SYS; -1 is a CPU id like any other. */
    @Test
    void differentNumaNodesAreSys() {
        NcclSysfsWalk walk = walk("/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0", "0", "/sys/devices/pci0000:80/0000:80:01.0/0000:81:00.0", "1",
                "/sys/devices/pci0000:c0/0000:c0:01.0/0000:c1:00.0", "-1", "/sys/devices/pci0000:e0/0000:e0:01.0/0000:e1:00.0", "-1");
        NcclSysfsWalk.Topology topology = walk.topology(List.of("0000:01:00.0", "0000:81:00.0", "0000:c1:00.0", "0000:e1:00.0"));
        assertEquals(PathType.SYS, topology.between("0000:01:00.0", "0000:81:00.0"));
        assertEquals(PathType.SYS, topology.between("0000:01:00.0", "0000:c1:00.0"));
        assertEquals(PathType.PHB, topology.between("0000:c1:00.0", "0000:e1:00.0"));
    }

    /** The CPU's NUMA id is the top switch's numa_node, read from its own sysfs directory (the walk continues from there). */
    @Test
    void cpuTakesTheTopNodesNumaNode() throws IOException {
        Path root = work.resolve("sysfs");
        write(root, "/sys/devices/pci0000:00/0000:00:01.0", "-1", null);
        write(root, "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0", "5", null);
        write(root, "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0", "-1", null);
        write(root, "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0/0000:03:00.0", "-1", null);
        NcclSysfsWalk walk = new NcclSysfsWalk(NcclSysfsWalk.Sysfs.ofTree(root));
        assertEquals(List.of(new Node(false, "0000:01:00.0"), new Node(true, "5")), walk.chain("0000:03:00.0").parents());
    }

    /**
     * Broadcom Gen4 in base mode (1000:c010, subsystem 1000:a0xx): the upper switch node
     * takes over the lower level, so two sub-switches' devices are PIX; with another
     * subsystem the levels stay and they are PXB.
     */
    @Test
    void broadcomBaseModeLevelsAreFlattened() throws IOException {
        for (String subsystem : List.of("0xa096", "0x0000")) {
            Path root = work.resolve("sysfs-" + subsystem);
            String top = "/sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0";
            String[] ids = {"0x1000", "0xc010", "0x1000", subsystem};
            write(root, "/sys/devices/pci0000:00/0000:00:01.1", "3", new String[] {"0x8086", "0x2f04", "0x0000", "0x0000"});
            write(root, top, "3", ids);
            for (int i = 0; i < 2; i++) {
                String down = top + "/0000:02:0" + i + ".0";
                String sub = down + "/0000:0" + (3 + 4 * i) + ":00.0";
                String subDown = sub + "/0000:0" + (4 + 4 * i) + ":00.0";
                write(root, down, "3", ids);
                write(root, sub, "3", ids);
                write(root, subDown, "3", ids);
                write(root, subDown + "/0000:0" + (5 + 4 * i) + ":00.0", "3", new String[] {"0x15b3", "0x101b", "0x15b3", "0x0007"});
            }
            NcclSysfsWalk walk = new NcclSysfsWalk(NcclSysfsWalk.Sysfs.ofTree(root));
            NcclSysfsWalk.Topology topology = walk.topology(List.of("0000:05:00.0", "0000:09:00.0"));
            boolean base = subsystem.equals("0xa096");
            assertEquals(base ? PathType.PIX : PathType.PXB, topology.between("0000:05:00.0", "0000:09:00.0"), subsystem);
            assertEquals(base ? List.of("0000:01:00.0") : List.of("0000:01:00.0", "0000:03:00.0"), topology.switches("0000:05:00.0"), subsystem);
        }
    }

    /** The DGX A100 fixture: the corpus's NCCL XML and nvidia-smi (HostPathTypesTest states the same from vfio-tune's model). */
    @Test
    void dgxA100Fixture() throws IOException {
        Path root = HostFixture.load(HOSTS.resolve("x86-dgx-a100-pex88096")).materialize(Files.createDirectory(work.resolve("dgx")));
        NcclSysfsWalk walk = new NcclSysfsWalk(NcclSysfsWalk.Sysfs.ofTree(root));
        assertEquals("/sys/devices/pci0000:00/0000:00:01.1/0000:01:00.0/0000:02:00.0/0000:03:00.0/0000:04:00.0/0000:05:00.0/0000:06:00.0/0000:07:00.0",
                NcclSysfsWalk.Sysfs.ofTree(root).realpath("0000:07:00.0"));
        NcclSysfsWalk.Topology topology = walk.topology(List.of("0000:07:00.0", "0000:0c:00.0", "0000:11:00.0", "0000:14:00.0", "0000:47:00.0"));
        assertEquals(List.of("0000:01:00.0", "0000:05:00.0"), topology.switches("0000:07:00.0"));
        assertEquals(PathType.PXB, topology.between("0000:07:00.0", "0000:11:00.0"));
        assertEquals(PathType.PXB, topology.between("0000:07:00.0", "0000:0c:00.0"));
        assertEquals(PathType.PIX, topology.between("0000:0c:00.0", "0000:14:00.0"));
        assertEquals(PathType.SYS, topology.between("0000:07:00.0", "0000:47:00.0"));
    }

    @Test
    void aPathWithoutRootComplexIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> NcclSysfsWalk.parentOf("0000:01:00.0", "0"));
    }

    private static void write(Path root, String path, String numaNode, String[] ids) throws IOException {
        Path directory = Files.createDirectories(root.resolve(path.substring(1)));
        Files.writeString(directory.resolve("numa_node"), numaNode + "\n");
        if (ids != null) {
            String[] names = {"vendor", "device", "subsystem_vendor", "subsystem_device"};
            for (int i = 0; i < names.length; i++) {
                Files.writeString(directory.resolve(names[i]), ids[i] + "\n");
            }
        }
        String busId = path.substring(path.lastIndexOf('/') + 1);
        Path link = Files.createDirectories(root.resolve("sys/bus/pci/devices")).resolve(busId);
        Files.createSymbolicLink(link, link.getParent().relativize(directory));
    }
}
