package io.vfiotune.gate;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.cli.HookJudge;
import io.vfiotune.golden.DevLog;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * With {@code syslog=yes} every verdict is recorded once, by whoever gives it
 * to the launcher: the gate for the verdicts the launcher takes, never for the
 * ones it leaves to the hook's own JVM (which records those itself).
 */
class ResidentGateSyslogTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));

    @Test
    void theGateRecordsWhatItDeliveredAndNothingElse(@TempDir Path work) throws Exception {
        Path spool = work.resolve("run/gate");
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectory(work.resolve("sysfs")));
        Path config = Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\ngate-directory=" + spool + "\nsyslog=yes\n");
        GateLauncher launcher = GateLauncher.install(work.resolve("qemu.d"), config);
        byte[] notApplied = Files.readAllBytes(ROOT.resolve("src/golden/clique-t4-pair-switch/input.xml"));
        byte[] malformed = "<domain><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'>".getBytes(StandardCharsets.UTF_8);
        try (DevLog syslog = DevLog.listen(work); GateSpool gate = GateSpool.startWarm(spool, HookJudge.INSTANCE, problem -> { }, config.toString(), notApplied)) {
            awaitAnnounced(spool);
            GateLauncher.Result refused = launcher.prepare("vt-gate-syslog", config, notApplied);
            assertEquals(2, refused.status(), refused.stderr());
            assertEquals(List.of("HOOK-MISMATCH"), refused.codes());
            GateLauncher.Result leftToTheHook = launcher.prepare("vt-gate-malformed", config, malformed);
            assertEquals(GateLauncher.FELL_THROUGH, leftToTheHook.status(), leftToTheHook.stderr());
            assertEquals(1, gate.answered(), "the warm-up is no answer, and records nothing");

            List<String> messages = syslog.awaitMessages(2, 5); // waits for a second message that must not come
            assertEquals(1, messages.size(), "the delivered refusal, once; nothing for the verdict left to the hook: " + messages);
            assertTrue(messages.get(0).matches("<27>.* vfio-tune\\[" + ProcessHandle.current().pid() + "\\]: \\[HOOK-MISMATCH\\] domain vt-gate-syslog: .*"),
                    "recorded by the gate's process as the hook records it: " + messages.get(0));
        }
    }

    private static void awaitAnnounced(Path spool) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(spool.resolve(GateSpool.PID_FILE)) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(Files.exists(spool.resolve(GateSpool.PID_FILE)), "the gate never announced itself");
    }
}
