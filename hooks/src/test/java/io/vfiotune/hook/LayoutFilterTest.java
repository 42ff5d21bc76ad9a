package io.vfiotune.hook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The restore/migrate filter and guest-visible plans: a pseries guest that
 * arrives without its per-group PHBs is refused (moving devices would break
 * libvirt's ABI check), while one that already has them passes untouched; the
 * same for legacy IGD placement.
 */
class LayoutFilterTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));

    @Test
    void pseriesPhbsAreNeverAddedAtRestore(@TempDir Path work) throws IOException {
        Path config = config(work, "power9-ac922-v100-npu");
        CliRun.Result unplaced = restore(config, "spapr-two-groups-no-cells/input.xml");
        assertEquals(2, unplaced.status(), unplaced.stderr());
        assertTrue(unplaced.stderr().contains("error [HOOK-GUEST-VISIBLE] domain vt-layout: arriving on this host needs guest-visible changes (a new PHB 1, "
                + "0004:04:00.0 at guest 0000:01:01.0"), unplaced.stderr());
        assertEquals("", unplaced.stdout(), "a refused filter prints no XML");

        CliRun.Result placed = restore(config, "spapr-two-groups-no-cells/expected.xml");
        assertEquals(0, placed.status(), placed.stderr());
        assertEquals("", placed.stdout(), "a definition that already has the layout is left as it is");
    }

    @Test
    void legacyIgdPlacementIsNeverDoneAtRestore(@TempDir Path work) throws IOException {
        Path config = config(work, "x86-skylake-igd");
        CliRun.Result unplaced = restore(config, "igd-i440fx-legacy-cirrus/input.xml");
        assertEquals(2, unplaced.status(), unplaced.stderr());
        assertTrue(unplaced.stderr().contains("[HOOK-GUEST-VISIBLE]") && unplaced.stderr().contains("no emulated display"), unplaced.stderr());
        CliRun.Result placed = restore(config, "igd-i440fx-legacy-cirrus/expected.xml");
        assertEquals(0, placed.status(), placed.stderr());
    }

    /** A guest that arrives without the mirror keeps its layout: expander buses and switches are never added at restore. */
    @Test
    void topologyMirrorIsNeverLaidOutAtRestore(@TempDir Path work) throws IOException {
        Path config = config(work, "x86-dgx-two-switches");
        CliRun.Result unplaced = restore(config, "topology-8gpu-two-switches/input.xml");
        assertEquals(2, unplaced.status(), unplaced.stderr());
        assertTrue(unplaced.stderr().contains("[HOOK-GUEST-VISIBLE]") && unplaced.stderr().contains("a new pcie-expander-bus 1")
                && unplaced.stderr().contains("a new pcie-switch-upstream-port 3") && unplaced.stderr().contains("0000:03:00.0 at guest 0000:04:00.0"), unplaced.stderr());
        assertEquals("", unplaced.stdout(), "a refused filter prints no XML");
        CliRun.Result placed = restore(config, "topology-8gpu-two-switches/expected.xml");
        assertEquals(0, placed.status(), placed.stderr());
        assertEquals("", placed.stdout(), "a definition that already mirrors the host is left as it is");
    }

    /** Grace's memory-less nodes are guest hardware: never added at restore, though the commandline form lives in the qemu: namespace. */
    @Test
    void graceNodesAreNeverAddedAtRestore(@TempDir Path work) throws IOException {
        Path sysfs = HostFixture.load(ROOT.resolve("src/golden/grace-gh200-one-qemu90/host")).materialize(work.resolve("sysfs"));
        Path config = Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\n");
        CliRun.Result unplaced = restore(config, "grace-gh200-one-qemu90/input.xml");
        assertEquals(2, unplaced.status(), unplaced.stderr());
        assertTrue(unplaced.stderr().contains("[HOOK-GUEST-VISIBLE]") && unplaced.stderr().contains("8 NUMA nodes with Generic Initiators for 0009:01:00.0"), unplaced.stderr());
        CliRun.Result placed = restore(config, "grace-gh200-one-qemu90/expected.xml");
        assertEquals(0, placed.status(), placed.stderr());
        assertEquals("", placed.stdout(), "a definition that has the nodes is left as it is");
    }

    /** The Grace guest's 64-bit window is guest hardware too: a definition without it is refused at restore, never widened. */
    @Test
    void graceWindowIsNeverAddedAtRestore(@TempDir Path work) throws IOException {
        Path sysfs = HostFixture.load(ROOT.resolve("src/golden/grace-gb200/host")).materialize(work.resolve("sysfs"));
        Path config = Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\n");
        String planned = Files.readString(ROOT.resolve("src/golden/grace-gb200/expected.xml"));
        String withoutWindow = planned.replace("    <qemu:arg value='-machine'/>\n    <qemu:arg value='highmem-mmio-size=1T'/>\n", "");
        assertTrue(!withoutWindow.equals(planned), "the golden output has the window pair");
        CliRun.Result narrow = CliRun.runWithConfig(withoutWindow.getBytes(java.nio.charset.StandardCharsets.UTF_8), config, "hook", "vt-window", "restore", "begin", "-");
        assertEquals(2, narrow.status(), narrow.stderr());
        assertTrue(narrow.stderr().contains("[HOOK-GUEST-VISIBLE]") && narrow.stderr().contains("-machine highmem-mmio-size=1T"), narrow.stderr());
        assertEquals("", narrow.stdout(), "a refused filter prints no XML");
        CliRun.Result sized = restore(config, "grace-gb200/expected.xml");
        assertEquals(0, sized.status(), sized.stderr());
        assertEquals("", sized.stdout(), "a definition that has the window is left as it is");
    }

    private static CliRun.Result restore(Path config, String goldenFile) throws IOException {
        return CliRun.runWithConfig(Files.readAllBytes(ROOT.resolve("src/golden").resolve(goldenFile)), config, "hook", "vt-layout", "restore", "begin", "-");
    }

    private static Path config(Path work, String host) throws IOException {
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts").resolve(host)).materialize(work.resolve("sysfs"));
        return Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\n");
    }
}
