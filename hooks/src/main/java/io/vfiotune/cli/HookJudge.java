package io.vfiotune.cli;

import io.vfiotune.gate.GateSpool;
import io.vfiotune.gate.ResidentGate;
import io.vfiotune.planning.Console;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The resident gate's judge: the hook's own verdict, given by the hook's own command in this
 * JVM, and its syslog record once the launcher has it. It lives beside the command it runs, so
 * the gate knows no command and the gate's verdict cannot drift from the hook's.
 */
public final class HookJudge implements GateSpool.Judge {
    public static final HookJudge INSTANCE = new HookJudge();

    private HookJudge() {
    }

    /**
     * The verdict {@code vfio-tune hook NAME prepare begin} would give in a
     * process of its own, with the environment libvirt leaves it: only the
     * configuration file the hook names. Nothing goes to syslog here: a
     * verdict the launcher does not take is given again by the hook's JVM.
     */
    @Override
    public GateSpool.Verdict judge(String name, String config, byte[] xml) {
        ByteArrayOutputStream findings = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(findings, true, StandardCharsets.UTF_8);
        PrintStream out = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
        int status = Main.run(new String[] {"hook", name, "prepare", "begin"}, new Console(new ByteArrayInputStream(xml), out, err, ResidentGate.hookEnvironment(config)));
        err.flush();
        return new GateSpool.Verdict(status, findings.toString(StandardCharsets.UTF_8));
    }

    @Override
    public void delivered(String name, String config, GateSpool.Verdict verdict) {
        ResidentGate.recordInSyslog(config, verdict);
    }
}
