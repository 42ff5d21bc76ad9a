package io.vfiotune.hook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.DevLog;
import io.vfiotune.golden.Libvirt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The hook's JVM drops a class archive it cannot use without a word (-Xshare:auto),
 * and the hook then runs about twice as slowly. The hook names its archive
 * (-Dvfio-tune.class-archive, as the installed launcher passes it) and says once,
 * on stderr and in syslog, when the JVM has not mapped it. Real JVMs run here: one
 * with a class archive it maps (a base archive made by this JDK, which any class
 * path may use), one with a damaged archive, which the JVM ignores. {@link DevLog}
 * stands in for the syslog daemon at /dev/log.
 */
class ClassArchiveNoticeTest {
    private static final String JAVA = ProcessHandle.current().info().command().orElse("java");

    @Test
    void anArchiveTheJvmMapsIsNotReported(@TempDir Path work) throws Exception {
        Path archive = work.resolve("base.jsa");
        Libvirt.Result dumped = Libvirt.run(List.of(JAVA, "-Xshare:dump", "-XX:SharedArchiveFile=" + archive), 300);
        assertTrue(dumped.ok() && Files.isRegularFile(archive), dumped.stderr());
        Libvirt.Result hook = hook(archive, work);
        assertEquals(0, hook.status(), hook.stderr());
        assertEquals("", hook.stderr());
        assertFalse(Files.exists(work.resolve("base.jsa.unused-reported")));
    }

    @Test
    void anArchiveTheJvmDroppedIsReportedOnceOnStderrAndInSyslog(@TempDir Path work) throws Exception {
        // What the JVM makes of an archive from another JVM build or a damaged one is the same: it carries on without it.
        Path archive = Files.write(work.resolve("hook.jsa"), new byte[4096]);
        try (DevLog syslog = DevLog.listen(work)) {
            Libvirt.Result first = hook(archive, work);
            assertEquals(0, first.status(), first.stderr());
            assertTrue(first.stderr().startsWith("vfio-tune: warning [CLASS-ARCHIVE-UNUSED] " + archive.toRealPath()
                    + ": the hook's JVM does not use its class archive"), first.stderr());
            assertTrue(first.stderr().contains("run 'vfio-tune install-hook' to rebuild it"), first.stderr());
            assertTrue(Files.exists(work.resolve("hook.jsa.unused-reported")), "the notice is remembered next to the archive");

            Libvirt.Result second = hook(archive, work);
            assertEquals(0, second.status(), second.stderr());
            assertEquals("", second.stderr(), "said once, not at every start");

            List<String> messages = syslog.awaitMessages(2, 5); // waits for a second message that must not come
            assertEquals(1, messages.size(), "exactly one syslog message: " + messages);
            // <28> = facility daemon (3 << 3) | priority warning (4)
            assertTrue(messages.get(0).matches("<28>\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d vfio-tune\\[\\d+\\]: \\[CLASS-ARCHIVE-UNUSED\\] " + archive.toRealPath()
                    + ": the hook's JVM does not use its class archive.*"), messages.get(0));
        }
    }

    /** The hook as the installed launcher starts it, on a domain without annotations (the notice comes first, whatever the domain). */
    private static Libvirt.Result hook(Path archive, Path work) throws Exception {
        Path domain = Files.writeString(work.resolve("domain.xml"), "<domain type='qemu'><name>vt-archive</name></domain>");
        Path config = Files.writeString(work.resolve("vfio-tune.properties"), "");
        List<String> command = new ArrayList<>(List.of("sh", "-c", "VFIO_TUNE_CONFIG=\"$0\" exec \"$1\" -XX:-UsePerfData -Xshare:auto -XX:SharedArchiveFile=\"$2\" -Dvfio-tune.class-archive=\"$2\" "
                + "-cp \"$3\" io.vfiotune.cli.Main hook vt-archive prepare begin - < \"$4\"",
                config.toString(), JAVA, archive.toString(), System.getProperty("java.class.path"), domain.toString()));
        return Libvirt.run(command, 120);
    }
}
