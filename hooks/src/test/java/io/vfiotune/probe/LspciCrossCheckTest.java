package io.vfiotune.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciBar;
import io.vfiotune.pci.PciCapability;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.probe.sysfs.SysfsHostTopology;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Our probe and the real {@code lspci} (pciutils' sysfs backend) read the same
 * materialised fixture tree and must agree on every function: the capability
 * chain, the MSI-X table and PBA, and the BAR sizes.
 */
class LspciCrossCheckTest {
    private static final Pattern DEVICE = Pattern.compile("^([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]) .*");
    private static final Pattern CAPABILITY = Pattern.compile("^\\tCapabilities: \\[([0-9a-f]+)(?: v\\d+)?\\] .*");
    private static final Pattern REGION = Pattern.compile("^\\tRegion (\\d): .*\\[size=(\\w+)\\].*");
    private static final Pattern TABLE = Pattern.compile("^\\t\\t(Vector table|PBA): BAR=(\\d) offset=([0-9a-f]+).*");

    record Lspci(List<Integer> capabilities, Map<Integer, String> regionSizes, List<String> msix) {
    }

    @ParameterizedTest
    @ValueSource(strings = {"x86-plx-t4-pair", "x86-haswell-p1000-cx3", "x86-skylake-igd", "power9-ac922-v100-npu",
            "x86-dgx-a100-pex88096", "x86-asus-esc8000a-4xada-2xcx7", "x86-puget-wrx90-2xada-cx7",
            "arm64-gh200-one", "arm64-gh200-two", "arm64-gb200", "arm64-gh200-plain-vfio"})
    void probeDecodesFixturesTheWayLspciDoes(String host, @TempDir Path sysfs) throws Exception {
        FixtureHosts.materialize(host, sysfs);
        SysfsHostTopology topology = FixtureHosts.topology(sysfs);
        Map<PciAddress, Lspci> seen = lspci(sysfs);
        assertEquals(topology.listFunctions(), List.copyOf(seen.keySet()), "lspci and the probe list the same functions");
        for (Map.Entry<PciAddress, Lspci> entry : seen.entrySet()) {
            PciFunction function = topology.function(entry.getKey()).orElseThrow();
            String subject = host + " " + entry.getKey();
            assertEquals(entry.getValue().capabilities(), function.capabilities().stream().map(PciCapability::offset).toList(), subject + " capabilities");
            assertEquals(entry.getValue().msix(), function.msix().map(msix -> List.of(
                    String.format(Locale.ROOT, "Vector table %d %08x", msix.tableBar(), msix.tableOffset()),
                    String.format(Locale.ROOT, "PBA %d %08x", msix.pbaBar(), msix.pbaOffset()))).orElse(List.of()), subject + " MSI-X");
            Map<Integer, String> sizes = new TreeMap<>();
            for (PciBar bar : function.bars()) {
                if (bar.kind() != PciBar.Kind.EMPTY && bar.kind() != PciBar.Kind.MEMORY_64_UPPER_HALF && bar.size() > 0) {
                    sizes.put(bar.index(), lspciSize(bar.size()));
                }
            }
            assertEquals(entry.getValue().regionSizes(), sizes, subject + " BAR sizes");
            assertTrue(function.faults().isEmpty(), subject + " " + function.faults());
        }
        assertFalse(seen.isEmpty());
    }

    /** pciutils' show_size(): divide by 1024 while it divides evenly. */
    private static String lspciSize(long size) {
        String[] suffixes = {"", "K", "M", "G", "T"};
        int index = 0;
        while (index < suffixes.length - 1 && size % 1024 == 0) {
            size /= 1024;
            index++;
        }
        return size + suffixes[index];
    }

    private static Map<PciAddress, Lspci> lspci(Path sysfs) throws IOException, InterruptedException {
        Process process = new ProcessBuilder("lspci", "-A", "linux-sysfs", "-O", "sysfs.path=" + sysfs.resolve("sys/bus/pci"), "-vv", "-D")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), "lspci (Debian pciutils) must be installed: the test command installs it");
        Map<PciAddress, Lspci> devices = new LinkedHashMap<>();
        Lspci current = null;
        for (String line : output.split("\n")) {
            Matcher matcher;
            if ((matcher = DEVICE.matcher(line)).matches()) {
                current = new Lspci(new ArrayList<>(), new TreeMap<>(), new ArrayList<>());
                devices.put(PciAddress.parse(matcher.group(1)), current);
            } else if (current == null) {
                continue;
            } else if ((matcher = CAPABILITY.matcher(line)).matches()) {
                current.capabilities().add(Integer.parseInt(matcher.group(1), 16));
            } else if ((matcher = REGION.matcher(line)).matches()) {
                current.regionSizes().put(Integer.parseInt(matcher.group(1)), matcher.group(2));
            } else if ((matcher = TABLE.matcher(line)).matches()) {
                current.msix().add(matcher.group(1) + " " + matcher.group(2) + " " + matcher.group(3));
            }
        }
        return devices;
    }
}
