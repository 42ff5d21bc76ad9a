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
import java.util.List;

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

    /** A selected domain whose plan changes nothing QEMU gets (one GPU: no clique to make) fits: the policy's annotation alone is no mismatch. */
    @Test
    void aSelectedDomainWhosePlanChangesNothingFits() throws IOException {
        Path config = config(Files.readString(ROOT.resolve(CASE).resolve("policy.xml")).replace("<vt:rule name=\"t4-cliques\">", "<vt:rule name=\"t4-cliques\" on-mismatch=\"refuse\">"));
        String oneGpu = Files.readString(ROOT.resolve(CASE).resolve("input.xml"))
                .replaceAll("(?s)    <hostdev mode='subsystem' type='pci' managed='yes'>\\s*<driver name='vfio'/>\\s*<source>\\s*<address domain='0x0000' bus='0x0[45]'.*?</hostdev>\n", "")
                .replaceAll("(?s)    <hostdev mode='subsystem' type='pci' managed='yes'>\\s*<driver name='vfio'/>\\s*<source>\\s*<address domain='0x0000' bus='0x81'.*?</hostdev>\n", "");
        assertEquals(1, oneGpu.split("<hostdev ", -1).length - 1, oneGpu);
        CliRun.Result gate = prepare(config, oneGpu.getBytes(StandardCharsets.UTF_8));
        assertEquals(0, gate.status(), gate.stderr());
        assertEquals("", gate.stderr(), "nothing to change, nothing to say, even with on-mismatch=refuse");
    }

    /** A rule that no longer selects a domain keeps that rule's on-mismatch for the gate; the rule's name is never read as markup. */
    @Test
    void aRuleThatNoLongerSelectsKeepsItsOnMismatch() throws IOException {
        Path golden = ROOT.resolve("src/golden/policy-rule-no-longer-matches");
        Path config = config(Files.readString(golden.resolve("policy.xml")));
        CliRun.Result gate = prepare(config, Files.readAllBytes(golden.resolve("input.xml")));
        assertEquals(0, gate.status(), gate.stderr());
        assertTrue(gate.stderr().contains("warning [HOOK-MISMATCH]") && !gate.stderr().contains("OpenStack Nova"), gate.stderr());
        String odd = Files.readString(golden.resolve("input.xml")).replace("policy-rule=\"t4-cliques\"", "policy-rule=\"x&quot; on-mismatch=&quot;refuse&amp;\"");
        CliRun.Result spoofed = CliRun.runWithConfig(odd.getBytes(StandardCharsets.UTF_8), config, "plan", "-");
        assertEquals(0, spoofed.status(), spoofed.stderr());
        assertTrue(!spoofed.stdout().contains("urn:vfio-tune:1"), "the policy's annotation is taken out whatever its recorded name: " + spoofed.stdout());
    }

    /**
     * A guest-visible plan at restore: on-mismatch="warn" lets the guest arrive as it was saved (the
     * filter changes nothing, says so, exits 0), "refuse" refuses, as at the gate.
     */
    @Test
    void restoreOfASelectedDomainFollowsTheRulesOnMismatch() throws IOException {
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-skylake-igd")).materialize(Files.createDirectories(work.resolve("igd-sysfs")));
        String input = Files.readString(ROOT.resolve("src/golden/igd-device-at-02-moved/input.xml")).replaceAll("(?s)  <metadata>.*</metadata>\n", "");
        for (String onMismatch : List.of("warn", "refuse")) {
            Path policy = Files.writeString(work.resolve("igd-" + onMismatch + ".xml"), "<vt:policy xmlns:vt=\"urn:vfio-tune:1\"><vt:rule name=\"igd\" on-mismatch=\""
                    + onMismatch + "\"><vt:tune><vt:igd mode=\"legacy\"/></vt:tune></vt:rule></vt:policy>");
            Path config = Files.writeString(work.resolve("igd-" + onMismatch + ".properties"), "sysfs-root=" + sysfs + "\nqemu-version=10.0.0\npolicy-file=" + policy + "\n");
            CliRun.Result restore = CliRun.runWithConfig(input.getBytes(StandardCharsets.UTF_8), config, "hook", "igd-guest", "restore", "begin", "-");
            assertEquals("", restore.stdout(), onMismatch + ": the filter never writes guest-visible changes");
            if (onMismatch.equals("warn")) {
                assertEquals(0, restore.status(), restore.stderr());
                assertTrue(restore.stderr().contains("warning [HOOK-GUEST-VISIBLE]") && restore.stderr().contains("arriving unchanged"), restore.stderr());
            } else {
                assertEquals(2, restore.status(), restore.stderr());
                assertTrue(restore.stderr().contains("error [HOOK-GUEST-VISIBLE]"), restore.stderr());
            }
        }
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
