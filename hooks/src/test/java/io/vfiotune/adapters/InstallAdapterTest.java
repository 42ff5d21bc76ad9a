package io.vfiotune.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code install-hook --vdsm} and {@code --kubevirt-shim DIR}: the one way to put the adapters where
 * their stacks look, with this installation's JVM and class path baked in (VDSM and the shim pass
 * their own environments). Each installed file is then run exactly as its stack runs it.
 */
class InstallAdapterTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final String TUNE = "<vt:tune xmlns:vt=\"urn:vfio-tune:1\"><vt:cliques mode=\"auto\"/></vt:tune>";

    @TempDir
    Path work;

    @Test
    void theVdsmHookIsInstalledRunsAsVdsmRunsItAndIsRemoved() throws Exception {
        Path config = config();
        Path hooks = work.resolve("before_vm_start");
        CliRun.Result installed = CliRun.run(new byte[0], "install-hook", "--vdsm", "--vdsm-hooks-dir", hooks.toString(), "--config", config.toString(), "--no-class-archive");
        assertEquals(0, installed.status(), installed.stderr());
        Path hook = hooks.resolve("50_vfio_tune");
        assertEquals("vfio-tune: installed " + hook + "\n", installed.stdout(), "no libvirt reload for VDSM's hook");
        assertTrue(Files.isExecutable(hook));
        Path domain = Files.writeString(work.resolve("domxml"), domain());
        // VDSM's environment: its own, the file, the custom property; nothing of vfio-tune's but what the hook baked in
        StackProcess.Result result = StackProcess.run(List.of(hook.toString()), Map.of("_hook_domxml", domain.toString(), "vfio_tune", TUNE), work);
        assertEquals(0, result.status(), result.stderr());
        assertTrue(Files.readString(domain).contains("x-nv-gpudirect-clique"), Files.readString(domain));
        CliRun.Result again = CliRun.run(new byte[0], "install-hook", "--vdsm", "--vdsm-hooks-dir", hooks.toString(), "--config", config.toString(), "--no-class-archive");
        assertEquals("vfio-tune: already installed: " + hook + "\n", again.stdout());
        CliRun.Result removed = CliRun.run(new byte[0], "install-hook", "--vdsm", "--vdsm-hooks-dir", hooks.toString(), "--uninstall");
        assertEquals("vfio-tune: removed " + hook + "\n", removed.stdout());
        assertTrue(Files.notExists(hook));
    }

    @Test
    void theKubevirtHookIsWrittenForTheShimsPath() throws Exception {
        Path config = config();
        Path bin = work.resolve("image/usr/bin");
        CliRun.Result installed = CliRun.run(new byte[0], "install-hook", "--kubevirt-shim", bin.toString(), "--config", config.toString(), "--no-class-archive");
        assertEquals(0, installed.status(), installed.stderr());
        Path hook = bin.resolve("onDefineDomain");
        String vmi = Files.readString(ROOT.resolve("src/kubevirt/example-vmi.json"));
        String plain = domain();
        StackProcess.Result result = StackProcess.run(List.of(hook.toString(), "--vmi", vmi, "--domain", plain), Map.of(), work);
        assertEquals(0, result.status(), result.stderr());
        assertTrue(result.stdout().contains("x-nv-gpudirect-clique") && result.stdout().startsWith("<domain"), result.stdout());
    }

    @Test
    void oneTargetAtATime() {
        CliRun.Result both = CliRun.run(new byte[0], "install-hook", "--vdsm", "--kubevirt-shim", work.toString());
        assertEquals(1, both.status());
        assertTrue(both.stderr().contains("error [USAGE] install-hook: --vdsm and --kubevirt-shim install different hooks; give one"), both.stderr());
    }

    private Path config() throws IOException {
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectories(work.resolve("sysfs")));
        return Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\n");
    }

    private static String domain() throws IOException {
        return Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/input.xml"), StandardCharsets.UTF_8).replaceAll("(?s)  <metadata>.*</metadata>\n", "");
    }
}
