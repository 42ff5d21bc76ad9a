package io.vfiotune.hook;

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

/**
 * The prepare gate for a domain the host policy selects but whose definition was never
 * rewritten (a stack that defines and starts in one call): a warning by default, a refusal
 * when the rule says on-mismatch="refuse", and silence once the definition carries the plan.
 * The hook runs through its real entry point with the configuration libvirt's hook would read.
 */
class PolicyGateTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final String CASE = "src/golden/policy-rule-selects-domain";

    @TempDir
    Path work;

    @Test
    void aSelectedDomainWithoutTheRewriteIsWarnedByDefault() throws IOException {
        Path config = config(Files.readString(ROOT.resolve(CASE).resolve("policy.xml")));
        CliRun.Result gate = prepare(config, Files.readAllBytes(ROOT.resolve(CASE).resolve("input.xml")));
        assertEquals(0, gate.status(), gate.stderr());
        assertTrue(gate.stderr().contains("warning [HOOK-MISMATCH] domain policy-rule-selects-domain: the definition does not fit this host")
                && gate.stderr().contains("(starting anyway: on-mismatch=\"warn\")")
                && gate.stderr().contains("the host policy's rule 't4-cliques'")
                && gate.stderr().contains("such as OpenStack Nova"), gate.stderr());
        assertEquals("", gate.stdout(), "the gate never prints XML");
    }

    @Test
    void aRuleThatSaysRefuseRefuses() throws IOException {
        String policy = Files.readString(ROOT.resolve(CASE).resolve("policy.xml")).replace("<vt:rule name=\"t4-cliques\">", "<vt:rule name=\"t4-cliques\" on-mismatch=\"refuse\">");
        Path config = config(policy);
        CliRun.Result gate = prepare(config, Files.readAllBytes(ROOT.resolve(CASE).resolve("input.xml")));
        assertEquals(2, gate.status(), gate.stderr());
        assertTrue(gate.stderr().contains("error [HOOK-MISMATCH] domain policy-rule-selects-domain") && gate.stderr().contains("then start it again"), gate.stderr());
    }

    @Test
    void theRewrittenDefinitionPassesSilently() throws IOException {
        Path config = config(Files.readString(ROOT.resolve(CASE).resolve("policy.xml")));
        CliRun.Result gate = prepare(config, Files.readAllBytes(ROOT.resolve(CASE).resolve("expected.xml")));
        assertEquals(0, gate.status(), gate.stderr());
        assertEquals("", gate.stderr(), "the definition carries the rule's plan: nothing to say");
    }

    @Test
    void aBrokenPolicyFailsTheGateWithItsReason() throws IOException {
        Path config = config("<vt:policy xmlns:vt=\"urn:vfio-tune:1\"><vt:rule name=\"x\"><vt:tune><vt:igd mode=\"sometimes\"/></vt:tune></vt:rule></vt:policy>");
        CliRun.Result gate = prepare(config, Files.readAllBytes(ROOT.resolve(CASE).resolve("input.xml")));
        assertEquals(1, gate.status(), gate.stderr());
        assertTrue(gate.stderr().contains("error [POLICY-INVALID]") && gate.stderr().contains("vt:igd/@mode: 'sometimes' is not allowed"), gate.stderr());
        assertTrue(!gate.stderr().contains("Exception"), "no stack trace, no wrapper: " + gate.stderr());
    }

    /** The launcher install-hook writes, run as libvirt runs it: with a policy in its config it must not answer unannotated domains in the shell. */
    @Test
    void theInstalledLauncherAsksThePlanWhenAPolicyIsInEffect() throws Exception {
        Path config = config(Files.readString(ROOT.resolve(CASE).resolve("policy.xml")));
        Path hooks = work.resolve("qemu.d");
        CliRun.Result installed = CliRun.run(new byte[0], "install-hook", "--hooks-dir", hooks.toString(), "--config", config.toString(), "--no-class-archive");
        assertEquals(0, installed.status(), installed.stderr());
        Path hook = hooks.resolve("50-vfio-tune");
        ProcessBuilder builder = new ProcessBuilder(hook.toString(), "policy-rule-selects-domain", "prepare", "begin", "-")
                .redirectInput(ROOT.resolve(CASE).resolve("input.xml").toFile()).redirectError(work.resolve("hook.err").toFile())
                .redirectOutput(work.resolve("hook.out").toFile());
        // libvirt clears a hook's environment; the config is baked into the launcher
        builder.environment().clear();
        Process process = builder.start();
        assertTrue(process.waitFor(120, java.util.concurrent.TimeUnit.SECONDS));
        String stderr = Files.readString(work.resolve("hook.err"));
        assertEquals(0, process.exitValue(), stderr);
        assertTrue(stderr.contains("warning [HOOK-MISMATCH] domain policy-rule-selects-domain") && stderr.contains("rule 't4-cliques'"), stderr);
    }

    private Path config(String policy) throws IOException {
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectories(work.resolve("sysfs")));
        Path policyFile = Files.writeString(work.resolve("policy.xml"), policy);
        return Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\npolicy-file=" + policyFile + "\n");
    }

    private static CliRun.Result prepare(Path config, byte[] domain) {
        return CliRun.runWithConfig(domain, config, "hook", "policy-rule-selects-domain", "prepare", "begin", "-");
    }
}
