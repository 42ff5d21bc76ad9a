package io.vfiotune.grace;

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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a user does to a planned Grace domain between plans, which golden cases
 * (one input each) cannot show: the 11.8 form taken to an older libvirt, a GPU
 * removed, a nodeset naming a real cell, QEMU too old under libvirt 11.8.
 */
class GraceEditsTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));

    @TempDir
    Path work;

    @Test
    void libvirt118FormIsNotDoubledOnAnOlderLibvirt() throws IOException {
        Path sysfs = host("src/hosts/arm64-gh200-two");
        String planned = plan(sysfs, read("src/golden/grace-gh200-libvirt118/input.xml")).stdout();
        CliRun.Result older = plan(sysfs, planned, "--libvirt-version", "11.3.0", "--qemu-version", "10.0.0");
        assertEquals(2, older.status(), older.stderr());
        assertTrue(older.stderr().contains("error [GRACE-NODES] 0009:01:00.0: the hostdev has libvirt 11.8's <acpi nodeset='2-9'>, which libvirt 11.3.0 does not read"), older.stderr());
    }

    @Test
    void nodesOfARemovedGpuAreNamedForDeletion() throws IOException {
        Path sysfs = host("src/hosts/arm64-gh200-two");
        String planned = plan(sysfs, read("src/golden/grace-gh200-two-after-two-cells/input.xml")).stdout();
        assertTrue(planned.contains("<acpi nodeset='10-17'/>"), planned);
        Matcher second = Pattern.compile("    <hostdev(?:(?!</hostdev>).)*0x0019(?:(?!</hostdev>).)*</hostdev>\n", Pattern.DOTALL).matcher(planned);
        assertTrue(second.find(), planned);
        CliRun.Result removed = plan(sysfs, planned.substring(0, second.start()) + planned.substring(second.end()));
        assertEquals(2, removed.status(), removed.stderr());
        assertTrue(removed.stderr().contains("guest cells [10, 11, 12, 13, 14, 15, 16, 17] have neither CPUs nor memory, and no Grace GPU's <acpi nodeset> names them"), removed.stderr());
    }

    @Test
    void aNodesetNamingACellWithCpusIsRefused() throws IOException {
        Path sysfs = host("src/hosts/arm64-gh200-two");
        String input = read("src/golden/grace-gh200-libvirt118/input.xml").replace("</source>", "</source>\n      <acpi nodeset='1-8'/>");
        CliRun.Result result = plan(sysfs, input);
        assertEquals(2, result.status(), result.stderr());
        assertTrue(result.stderr().contains("its <acpi nodeset='1-8'> names guest cell 1, which has CPUs"), result.stderr());
    }

    @Test
    void qemuBefore90IsRefusedUnderLibvirt118Too() throws IOException {
        Path sysfs = host("src/hosts/arm64-gh200-two");
        CliRun.Result result = plan(sysfs, read("src/golden/grace-gh200-libvirt118/input.xml"), "--qemu-version", "8.2.0");
        assertEquals(2, result.status(), result.stderr());
        assertTrue(result.stderr().contains("[GRACE-QEMU-TOO-OLD]") && result.stderr().contains("QEMU 8.2.0 has no acpi-generic-initiator"), result.stderr());
    }

    @Test
    void aWindowTheGpusOutgrowIsRaisedAndALargerOneKept() throws IOException {
        Path sysfs = host("src/hosts/arm64-gh200-two");
        String planned = plan(sysfs, read("src/golden/grace-gh200-two-after-two-cells/input.xml")).stdout();
        assertTrue(!planned.contains("pcihole64"), "two 96G GH200 fit the default 512 GiB");
        // 400G each: usemem 399G in a 512G BAR, so two root ports of 513G on 512G boundaries end at 1537G
        declare(sysfs, "10de:2342=400G");
        CliRun.Result grown = plan(sysfs, planned);
        assertEquals(0, grown.status(), grown.stderr());
        assertTrue(grown.stdout().contains("<pcihole64 unit='KiB'>2147483648</pcihole64>"), grown.stdout());
        assertTrue(grown.stderr().contains("info [GRACE-MMIO64]") && grown.stderr().contains("<pcihole64 unit='KiB'>2147483648</pcihole64> in the pcie-root controller (2T"), grown.stderr());
        declare(sysfs, "10de:2342=96G");
        CliRun.Result shrunk = plan(sysfs, grown.stdout());
        assertEquals(0, shrunk.status(), shrunk.stderr());
        assertEquals(grown.stdout(), shrunk.stdout(), "a window larger than the need stays: it is guest-visible");
    }

    @Test
    void aSmallerUserWindowIsRefusedWithTheSizeToUse() throws IOException {
        Path sysfs = host("src/hosts/arm64-gb200");
        String input = read("src/golden/grace-gb200-user-window-kept/input.xml").replace("highmem-mmio-size=2T", "highmem-mmio-size=512G");
        CliRun.Result result = plan(sysfs, input, "--libvirt-version", "11.3.0", "--qemu-version", "10.0.0");
        assertEquals(2, result.status(), result.stderr());
        assertTrue(result.stderr().contains("error [GRACE-MMIO64]") && result.stderr().contains("the definition's own highmem-mmio-size=512G is smaller")
                && result.stderr().contains("raise it to 1T"), result.stderr());
    }

    private static void declare(Path sysfs, String memory) throws IOException {
        Path facts = sysfs.resolve("facts.properties");
        Files.writeString(facts, Files.readString(facts).replaceAll("grace-device-memory=.*", "grace-device-memory=" + memory));
    }

    private Path host(String fixture) throws IOException {
        return HostFixture.load(ROOT.resolve(fixture)).materialize(Files.createDirectories(work.resolve("sysfs")));
    }

    private static String read(String file) throws IOException {
        return Files.readString(ROOT.resolve(file));
    }

    private static CliRun.Result plan(Path sysfs, String domain, String... options) {
        String[] arguments = new String[options.length + 4];
        arguments[0] = "plan";
        arguments[1] = "--sysfs-root";
        arguments[2] = sysfs.toString();
        System.arraycopy(options, 0, arguments, 3, options.length);
        arguments[arguments.length - 1] = "-";
        return CliRun.run(domain.getBytes(StandardCharsets.UTF_8), arguments);
    }
}
