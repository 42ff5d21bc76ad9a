package io.vfiotune.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.probe.fixture.Directories;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * IGD plans where the golden cases cannot reach: which {@code <loader>} counts as
 * UEFI (issue 19 item 9), and a host where vfio_pci is not loaded yet, so VGA
 * access is unknown (item 11; a fixture cannot include a host and unload one of
 * its modules).
 */
class IgdFirmwareAndVgaTest {
    static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    static final String LEGACY_INPUT = readInput("igd-i440fx-legacy-cirrus");

    @TempDir
    static Path sysfs;

    @BeforeAll
    static void materialize() throws IOException {
        HostFixture.load(ROOT.resolve("src/hosts/x86-skylake-igd")).materialize(sysfs);
    }

    @Test
    void seaBiosRomLoaderIsNotUefi() {
        CliRun.Result result = plan(LEGACY_INPUT.replace("  </os>", "    <loader type='rom'>/usr/share/seabios/bios-256k.bin</loader>\n  </os>"));
        assertEquals(0, result.status(), result.stderr());
        assertTrue(result.stderr().contains("[IGD-LEGACY]"), result.stderr());
    }

    @Test
    void ovmfLoaderWithoutTypeIsUefi() {
        CliRun.Result result = plan(LEGACY_INPUT.replace("  </os>", "    <loader>/usr/share/OVMF/OVMF_CODE.fd</loader>\n  </os>"));
        assertEquals(2, result.status());
        assertTrue(result.stderr().startsWith("vfio-tune: error [IGD-FIRMWARE] domain igd-i440fx-legacy-cirrus: "), result.stderr());
    }

    @Test
    void firmwareBiosWins() {
        // firmware='bios' decides even next to a loader that alone would count as UEFI.
        CliRun.Result result = plan(LEGACY_INPUT.replace("  <os>", "  <os firmware='bios'>").replace("  </os>", "    <loader>/usr/share/OVMF/OVMF_CODE.fd</loader>\n  </os>"));
        assertEquals(0, result.status(), result.stderr());
    }

    @Test
    void unknownVgaAccessPlansLegacyAndWarns(@TempDir Path work) throws IOException {
        Path unloaded = HostFixture.load(ROOT.resolve("src/hosts/x86-skylake-igd")).materialize(work);
        Directories.deleteTree(unloaded.resolve("sys/module"));
        CliRun.Result old = run(unloaded, LEGACY_INPUT);
        assertEquals(0, old.status(), old.stderr());
        assertTrue(old.stderr().contains("vfio-tune: warning [IGD-VGA-UNKNOWN] 0000:00:02.0: vfio_pci is not loaded, so whether it gives the VGA access legacy mode needs"
                + " is unknown (it does when /sys/module/vfio_pci/parameters/disable_vga reads N); if it does not, QEMU 9.2.0 falls back to universal passthrough silently\n"),
                old.stderr());
        CliRun.Result switchable = run(unloaded, LEGACY_INPUT, "--qemu-version", "10.0.0");
        assertEquals(0, switchable.status(), switchable.stderr());
        assertTrue(switchable.stderr().contains("if it does not, x-igd-legacy-mode=on stops the start"), switchable.stderr());
        assertTrue(switchable.stdout().contains("<qemu:property name='x-igd-legacy-mode' type='string' value='on'/>"), switchable.stdout());
    }

    private static CliRun.Result plan(String domain) {
        return run(sysfs, domain);
    }

    private static CliRun.Result run(Path root, String domain, String... facts) {
        String[] arguments = new String[4 + facts.length];
        arguments[0] = "plan";
        arguments[1] = "--sysfs-root";
        arguments[2] = root.toString();
        System.arraycopy(facts, 0, arguments, 3, facts.length);
        arguments[arguments.length - 1] = "-";
        return CliRun.run(domain.getBytes(StandardCharsets.UTF_8), arguments);
    }

    private static String readInput(String goldenCase) {
        try {
            return Files.readString(ROOT.resolve("src/golden").resolve(goldenCase).resolve("input.xml"));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
