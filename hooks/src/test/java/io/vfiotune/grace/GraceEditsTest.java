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

    @Test
    void theCommandLineWindowIsKeptOnReplanAndRestoreWhenTheNeedShrinksOrIsUnknown() throws IOException {
        Path sysfs = host("src/hosts/arm64-gh200-two");
        String[] older = {"--libvirt-version", "11.3.0", "--qemu-version", "10.0.0"};
        declare(sysfs, "10de:2342=400G");
        CliRun.Result grown = plan(sysfs, read("src/golden/grace-gh200-two-after-two-cells/input.xml"), older);
        assertEquals(0, grown.status(), grown.stderr());
        assertTrue(grown.stdout().contains("<qemu:arg value='highmem-mmio-size=2T'/>"), grown.stdout());
        declare(sysfs, "10de:2342=96G");
        CliRun.Result shrunk = plan(sysfs, grown.stdout(), older);
        assertEquals(0, shrunk.status(), shrunk.stderr());
        assertEquals(grown.stdout(), shrunk.stdout(), "the window an earlier plan set stays: guest hardware");
        assertTrue(shrunk.stderr().contains("the window an earlier plan set is kept (guest hardware)"), shrunk.stderr());
        declare(sysfs, "");
        CliRun.Result unknown = plan(sysfs, grown.stdout(), older);
        assertEquals(grown.stdout(), unknown.stdout());
        assertTrue(unknown.stderr().contains("warning [GRACE-MMIO64-UNKNOWN]") && unknown.stderr().contains("the window an earlier plan set, 2T, is kept"), unknown.stderr());
        // the restore filter with nothing declared: no change, so the saved guest keeps its window (the hook reads the fixture's facts, so pin them there)
        Path facts = sysfs.resolve("facts.properties");
        Files.writeString(facts, Files.readString(facts).replaceAll("libvirt-version=.*", "libvirt-version=11.3.0").replaceAll("qemu-version=.*", "qemu-version=10.0.0"));
        Path config = Files.writeString(work.resolve("restore.properties"), "sysfs-root=" + sysfs + "\nlibvirt-version=11.3.0\nqemu-version=10.0.0\n");
        CliRun.Result restore = CliRun.runWithConfig(grown.stdout().getBytes(StandardCharsets.UTF_8), config, "hook", "vt-grace", "restore", "begin", "-");
        assertEquals(0, restore.status(), restore.stderr());
        assertEquals("", restore.stdout(), "nothing to change: the window stays as saved");
    }

    @Test
    void anOwnPcihole64TheGpusOutgrowIsRaised() throws IOException {
        Path sysfs = host("src/hosts/arm64-gb200");
        String planned = plan(sysfs, read("src/golden/grace-gb200-libvirt118/input.xml")).stdout();
        assertTrue(planned.contains("<pcihole64 unit='KiB'>1073741824</pcihole64>"), planned);
        // 400G: usemem in a 512G BAR beside the physical 128G BAR2, 640G per port on 512G boundaries, 1665 GiB in all
        declare(sysfs, "10de:2941=400G");
        CliRun.Result grown = plan(sysfs, planned);
        assertEquals(0, grown.status(), grown.stderr());
        assertTrue(grown.stdout().contains("<pcihole64 unit='KiB'>2147483648</pcihole64>") && !grown.stdout().contains("1073741824"), grown.stdout());
        assertTrue(grown.stderr().contains("warning [GRACE-MMIO64]") && grown.stderr().contains("raised to 2147483648 KiB (2T)"), grown.stderr());
    }

    @Test
    void theUsersOwnWindowIsReadInQemuSyntaxAndCheckedAsQemuWould() throws IOException {
        Path sysfs = host("src/hosts/arm64-gb200");
        String input = read("src/golden/grace-gb200-user-window-kept/input.xml");
        String[] stack = {"--libvirt-version", "11.3.0", "--qemu-version", "10.0.0"};
        CliRun.Result hex = plan(sysfs, input.replace("highmem-mmio-size=2T", "highmem-mmio-size=0x20000000000"), stack);
        assertEquals(0, hex.status(), hex.stderr());
        assertTrue(hex.stderr().contains("the definition's own highmem-mmio-size=0x20000000000 is kept"), hex.stderr());
        assertEquals(1, hex.stdout().split("highmem-mmio-size=", -1).length - 1, "nothing is added after the user's value:\n" + hex.stdout());
        CliRun.Result fraction = plan(sysfs, input.replace("highmem-mmio-size=2T", "highmem-mmio-size=1.5T"), stack);
        assertEquals(2, fraction.status(), fraction.stderr());
        assertTrue(fraction.stderr().contains("highmem-mmio-size=1.5T is not a power of two of at least 512G, which QEMU refuses at start; use 1T"), fraction.stderr());
        CliRun.Result oldQemu = plan(sysfs, input, "--libvirt-version", "11.3.0", "--qemu-version", "9.2.0");
        assertEquals(2, oldQemu.status(), oldQemu.stderr());
        assertTrue(oldQemu.stderr().contains("is a QEMU 10.0 machine property, and this is QEMU 9.2.0, which would refuse to start"), oldQemu.stderr());
        CliRun.Result unreadable = plan(sysfs, input.replace("highmem-mmio-size=2T", "highmem-mmio-size=lots"), stack);
        assertEquals(0, unreadable.status(), unreadable.stderr());
        assertTrue(unreadable.stderr().contains("warning [GRACE-MMIO64]") && unreadable.stderr().contains("is not a size vfio-tune reads, so it is kept as written"), unreadable.stderr());
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
