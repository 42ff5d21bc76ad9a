package io.vfiotune.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.golden.Libvirt;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

/**
 * The host policy through the define-time path, against the real libvirtd: an unannotated
 * domain the policy selects is redefined with the rule's annotation and plan, libvirt's
 * re-serialisation is a fixed point, and once the rule no longer selects it, apply gives the
 * domain back without anything vfio-tune wrote.
 */
class PolicyApplyTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final String DOMAIN = "policy-vt-apply-test";

    @TempDir
    static Path work;

    @BeforeAll
    static void startLibvirt() {
        Libvirt.ensureRunning();
    }

    @AfterEach
    void undefine() {
        virsh("undefine", DOMAIN);
    }

    @Test
    void aSelectedDomainIsRedefinedAndGivenBackWhenTheRuleGoes() throws IOException {
        Path sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectories(work.resolve("sysfs")));
        String input = Files.readString(ROOT.resolve("src/golden/policy-rule-selects-domain/input.xml"))
                .replace("<name>policy-rule-selects-domain</name>", "<name>" + DOMAIN + "</name>").replaceAll("  <uuid>.*</uuid>\n", "");
        assertTrue(virsh("define", Files.writeString(work.resolve("domain.xml"), input).toString()).ok());
        Path policy = ROOT.resolve("src/golden/policy-rule-selects-domain/policy.xml").toAbsolutePath().normalize();

        CliRun.Result applied = apply(sysfs, policy);
        assertEquals(0, applied.status(), applied.stderr());
        assertTrue(applied.stdout().startsWith("vfio-tune: " + DOMAIN + ": redefined ("), applied.stdout());
        String stored = virsh("dumpxml", "--inactive", DOMAIN).stdout();
        assertTrue(stored.contains("policy-rule=\"t4-cliques\"") || stored.contains("policy-rule='t4-cliques'"), stored);
        assertTrue(stored.contains("x-nv-gpudirect-clique"), stored);
        CliRun.Result again = apply(sysfs, policy);
        assertEquals("vfio-tune: " + DOMAIN + ": already fits this host\n", again.stdout(), "libvirt's re-serialisation is a fixed point");

        Path narrowed = Files.writeString(work.resolve("narrowed.xml"), Files.readString(policy).replace("domain=\"policy-*\"", "domain=\"training-*\""));
        CliRun.Result givenBack = apply(sysfs, narrowed);
        assertEquals(0, givenBack.status(), givenBack.stderr());
        assertTrue(givenBack.stdout().startsWith("vfio-tune: " + DOMAIN + ": redefined ("), givenBack.stdout());
        String plain = virsh("dumpxml", "--inactive", DOMAIN).stdout();
        assertFalse(plain.contains("urn:vfio-tune:1") || plain.contains("x-nv-gpudirect-clique") || plain.contains("ua-vt-"), plain);
    }

    private static CliRun.Result apply(Path sysfs, Path policy) {
        return CliRun.run(new byte[0], "apply", "--connect", Libvirt.URI, "--sysfs-root", sysfs.toString(), "--policy-file", policy.toString(), DOMAIN);
    }

    private static Libvirt.Result virsh(String... arguments) {
        return Libvirt.run(Stream.concat(Stream.of("virsh", "-c", Libvirt.URI), Arrays.stream(arguments)).toList(), 120);
    }
}
