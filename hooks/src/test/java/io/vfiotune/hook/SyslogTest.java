package io.vfiotune.hook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.DevLog;
import io.vfiotune.golden.Libvirt;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code syslog=yes}: the hook's findings reach syslog(3) through libc, as
 * well as stderr. {@link DevLog} stands in for the syslog daemon at /dev/log.
 */
class SyslogTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));

    @Test
    void hookFindingsGoToSyslogWhenAsked(@TempDir Path work) throws Exception {
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectory(work.resolve("sysfs")));
        Path config = Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\nsyslog=yes\n");
        Path domain = Files.writeString(work.resolve("domain.xml"), Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/input.xml")));
        try (DevLog syslog = DevLog.listen(work)) {
            Libvirt.Result hook = Libvirt.run(List.of("sh", "-c", "VFIO_TUNE_CONFIG=\"$0\" exec \"$1\" -XX:-UsePerfData -cp \"$2\" io.vfiotune.cli.Main hook vt-syslog prepare begin - < \"$3\"",
                    config.toString(), ProcessHandle.current().info().command().orElse("java"), System.getProperty("java.class.path"), domain.toString()), 120);
            assertEquals(2, hook.status(), hook.stderr());
            assertTrue(hook.stderr().startsWith("vfio-tune: error [HOOK-MISMATCH] domain vt-syslog: "), "stderr keeps the finding: " + hook.stderr());
            List<String> messages = syslog.awaitMessages(1, 30);
            assertEquals(1, messages.size(), "one finding, one message: " + messages);
            // <27> = facility daemon (3 << 3) | priority err (3)
            assertTrue(messages.get(0).matches("<27>\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d vfio-tune\\[\\d+\\]: \\[HOOK-MISMATCH\\] domain vt-syslog: .*vfio-tune apply vt-syslog.*"), messages.get(0));
        }
    }

    @Test
    void aSyslogValueOtherThanYesOrNoIsRefused(@TempDir Path work) throws IOException {
        Path config = Files.writeString(work.resolve("vfio-tune.properties"), "syslog=true\n");
        Libvirt.Result plan = Libvirt.run(List.of("sh", "-c", "VFIO_TUNE_CONFIG=\"$0\" exec \"$1\" -XX:-UsePerfData -cp \"$2\" io.vfiotune.cli.Main probe",
                config.toString(), ProcessHandle.current().info().command().orElse("java"), System.getProperty("java.class.path")), 120);
        assertEquals(1, plan.status());
        assertEquals("vfio-tune: error [CONFIG-INVALID] " + config + ": syslog must be yes or no, not 'true'", plan.stderr().strip());
    }
}
