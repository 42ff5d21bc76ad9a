package io.vfiotune.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The KubeVirt adapter as the sidecar shim calls it (cmd/sidecars/sidecar_shim.go):
 * {@code onDefineDomain --vmi <VMI JSON> --domain <domain XML>}, found on PATH, nothing on
 * stdin, stdout taken as the domain, a non-zero exit failing the start. The VMI is
 * {@code src/kubevirt/example-vmi.json} (KubeVirt's examples/vmi-gpu.yaml as JSON, with the
 * sidecar and vfio-tune annotations); the domain is the T4 golden input as KubeVirt writes
 * one, without metadata.
 */
class KubevirtAdapterTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final Pattern OVERRIDE = Pattern.compile("<qemu:override[^>]*>.*</qemu:override>", Pattern.DOTALL);

    @TempDir
    Path work;
    Path config;
    String domain;
    String vmi;

    @BeforeEach
    void host() throws IOException {
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectories(work.resolve("sysfs")));
        config = Files.writeString(work.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\n");
        domain = Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/input.xml")).replaceAll("(?s)  <metadata>.*</metadata>\n", "");
        vmi = Files.readString(ROOT.resolve("src/kubevirt/example-vmi.json"));
    }

    @Test
    void theVmiAnnotationGivesWhatPlanGives() throws Exception {
        StackProcess.Result result = onDefineDomain(vmi, domain, config);
        assertEquals(0, result.status(), result.stderr());
        String expected = Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/expected.xml"));
        assertEquals(override(expected), override(result.stdout()), "the same clique properties as the golden case with the same annotation");
        assertTrue(result.stdout().contains("<vt:tune xmlns:vt=\"urn:vfio-tune:1\"><vt:cliques mode=\"auto\"/>"), result.stdout());
        CliRun.Result replanned = CliRun.runWithConfig(result.stdout().getBytes(StandardCharsets.UTF_8), config, "plan", "-");
        assertEquals(0, replanned.status(), replanned.stderr());
        assertEquals(result.stdout(), replanned.stdout(), "vfio-tune plan of the adapter's output changes nothing");
        assertTrue(result.stderr().contains("info [CLIQUE-DERIVED] clique 0: 0000:03:00.0, 0000:04:00.0"), result.stderr());
    }

    @Test
    void aVmiWithoutTheAnnotationAndNoPolicyComesBackByteForByte() throws Exception {
        String plain = withoutTuneAnnotation(vmi);
        StackProcess.Result result = onDefineDomain(plain, domain, config);
        assertEquals(0, result.status(), result.stderr());
        assertEquals(domain, result.stdout(), "the shim defines what it gets back: the same bytes");
    }

    @Test
    void theHostPolicyAnnotatesWhenTheVmiDoesNot() throws Exception {
        String plain = withoutTuneAnnotation(vmi);
        Path policy = Files.writeString(work.resolve("policy.xml"), Files.readString(ROOT.resolve("src/golden/policy-rule-selects-domain/policy.xml"))
                .replace("domain=\"policy-*\"", "domain=\"clique-*\""));
        Path withPolicy = Files.writeString(work.resolve("policy.properties"), Files.readString(config) + "policy-file=" + policy + "\n");
        StackProcess.Result result = onDefineDomain(plain, domain, withPolicy);
        assertEquals(0, result.status(), result.stderr());
        assertTrue(result.stdout().contains("policy-rule=\"t4-cliques\""), result.stdout());
        assertEquals(override(Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/expected.xml"))), override(result.stdout()));
    }

    @Test
    void aRefusalFailsTheStartWithTheFindingsAndNoXml() throws Exception {
        String refused = vmi.replace("<vt:cliques mode=\\\"auto\\\"/>", "<vt:hostdev host=\\\"0000:99:00.0\\\" clique=\\\"1\\\"/>");
        StackProcess.Result result = onDefineDomain(refused, domain, config);
        assertEquals(2, result.status(), result.stderr());
        assertEquals("", result.stdout(), "nothing for the shim to define");
        assertTrue(result.stderr().contains("error [ANN-UNKNOWN-HOSTDEV] 0000:99:00.0"), result.stderr());
    }

    @Test
    void anAnnotationWithAnExternalEntityIsRefusedUnread() throws Exception {
        String hostile = vmi.replace("\"<vt:tune xmlns:vt=", "\"<!DOCTYPE t [<!ENTITY e SYSTEM \\\"file:///etc/passwd\\\">]><vt:tune xmlns:vt=")
                .replace("<vt:cliques mode=\\\"auto\\\"/>", "<vt:cliques mode=\\\"auto\\\"/>&e;");
        assertTrue(hostile.contains("<!DOCTYPE") && hostile.contains("&e;"), hostile);
        StackProcess.Result result = onDefineDomain(hostile, domain, config);
        assertTrue(result.status() != 0, result.stderr());
        assertEquals("", result.stdout());
        assertTrue(result.stderr().contains("error [XML-") && result.stderr().contains("the supplied annotation"), result.stderr());
        assertTrue(!result.stderr().contains("root:"), "nothing of the entity's file is read: " + result.stderr());
    }

    @Test
    void aVmiThatIsNotJsonIsAClearError() throws Exception {
        StackProcess.Result result = onDefineDomain(vmi.substring(0, vmi.length() / 2), domain, config);
        assertEquals(1, result.status(), result.stderr());
        assertTrue(result.stderr().startsWith("vfio-tune: error [VMI-INVALID] --vmi: the VMI is not valid JSON"), result.stderr());
        assertEquals("", result.stdout());
    }

    /**
     * Linux caps one argument at 32 pages (MAX_ARG_STRLEN: 128 KiB with 4 KiB pages, 2 MiB with the
     * 64 KiB pages of Grace kernels), so a larger domain XML never reaches the hook: the shim's exec
     * fails with E2BIG and KubeVirt fails the start. Shown here with the exec the shim does.
     */
    @Test
    void aDomainLargerThanOneArgumentMayBeCannotBeExecuted() throws Exception {
        Assumptions.assumeTrue(pageSize() == 4096, "the limit shown is the 4 KiB-page one");
        String huge = domain.replace("</devices>", "<!-- " + "x".repeat(132 * 1024) + " -->\n  </devices>");
        IOException refused = assertThrows(IOException.class, () -> onDefineDomain(vmi, huge, config));
        assertTrue(refused.getMessage().contains("Argument list too long"), refused.getMessage());
        String fits = domain.replace("</devices>", "<!-- " + "x".repeat(120 * 1024) + " -->\n  </devices>");
        assertEquals(0, onDefineDomain(vmi, fits, config).status(), "just under 128 KiB still goes through");
    }

    /**
     * The shipped ConfigMap's script, mounted as onDefineDomain, writes its pinned settings and runs
     * the adapter: its heredoc must survive YAML's block indentation. Its vfio-tune path is this
     * build's launcher here, and the snapshot it reads is the fixture's.
     */
    @Test
    void theShippedConfigMapScriptRuns() throws Exception {
        String yaml = Files.readString(ROOT.resolve("src/kubevirt/configmap.yaml"));
        String block = yaml.substring(yaml.indexOf("  onDefineDomain: |\n") + "  onDefineDomain: |\n".length());
        String script = block.lines().map(line -> line.startsWith("    ") ? line.substring(4) : line).reduce("", (a, b) -> a + b + "\n");
        assertTrue(script.startsWith("#!/bin/sh\n") && script.contains("libvirt-version=") && script.contains("\nEOF_CONFIG\n"), script);
        String sysfs = Files.readString(config).strip();
        assertTrue(script.contains("\nsysfs-root=/var/lib/vfio-tune/sysfs\n"), "the sidecar reads the node's snapshot: " + script);
        Path onDefineDomain = Files.writeString(work.resolve("onDefineDomain"), script
                .replace("sysfs-root=/var/lib/vfio-tune/sysfs", sysfs)
                .replace("/usr/bin/vfio-tune", StackProcess.launcher(work).toString()));
        onDefineDomain.toFile().setExecutable(true);
        StackProcess.Result result = StackProcess.run(List.of(onDefineDomain.toString(), "--vmi", vmi, "--domain", domain), Map.of(), work);
        assertEquals(0, result.status(), result.stderr());
        assertEquals(override(Files.readString(ROOT.resolve("src/golden/clique-t4-pair-switch/expected.xml"))), override(result.stdout()));
    }

    private StackProcess.Result onDefineDomain(String vmiJson, String domainXml, Path configFile) throws Exception {
        Path script = ROOT.resolve("src/kubevirt/onDefineDomain").toAbsolutePath().normalize();
        return StackProcess.run(List.of(script.toString(), "--vmi", vmiJson, "--domain", domainXml),
                Map.of("VFIO_TUNE", StackProcess.launcher(work).toString(), "VFIO_TUNE_CONFIG", configFile.toString()), work);
    }

    /** The example VMI with another annotation in place of vfio-tune's. */
    private static String withoutTuneAnnotation(String vmi) {
        String plain = vmi.replaceFirst("\"vfio-tune.io/tune\": \"[^\n]*\"", "\"example.org/owner\": \"team-a\"");
        assertTrue(!plain.contains("vfio-tune.io/tune") && plain.contains("example.org/owner"), plain);
        return plain;
    }

    private static String override(String xml) {
        Matcher matcher = OVERRIDE.matcher(xml);
        assertTrue(matcher.find(), "a qemu:override in\n" + xml);
        return matcher.group();
    }

    private static long pageSize() throws IOException, InterruptedException {
        Process getconf = new ProcessBuilder("getconf", "PAGESIZE").start();
        String text = new String(getconf.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        getconf.waitFor();
        return Long.parseLong(text);
    }
}
