package io.vfiotune.golden;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The harness must catch what it exists to catch: unused files, stale expectations, outputs libvirt rejects. */
class GoldenHarnessSelfTest {
    private static final Path SOURCE_CASE = GoldenCasesTest.CASES.resolve("hostdev-vfio-unannotated");

    @BeforeAll
    static void startLibvirt() {
        Libvirt.ensureRunning();
    }

    @Test
    void passesAnUntouchedCopy(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        assertEquals(List.of(), new GoldenHarness(cases, false).check(copy));
    }

    @Test
    void failsOnAnUnusedFile(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        Files.writeString(copy.resolve("expected.xml.orig"), "left behind");
        List<String> problems = new GoldenHarness(cases, false).check(copy);
        assertTrue(problems.contains("copy: unused file expected.xml.orig"), problems.toString());
    }

    @Test
    void failsOnAStaleExpectedFile(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        Files.writeString(copy.resolve("expected.xml"), Files.readString(copy.resolve("expected.xml")).replace("QEMUGuest2", "Stale"));
        List<String> problems = new GoldenHarness(cases, false).check(copy);
        assertTrue(problems.stream().anyMatch(problem -> problem.startsWith("copy: stale expected.xml")), problems.toString());
    }

    @Test
    void failsWhenLibvirtRejectsTheOutput(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        // Unannotated, so vfio-tune passes it through untouched; libvirt's schema has no <bogus>.
        Files.writeString(copy.resolve("input.xml"), Files.readString(copy.resolve("input.xml")).replace("<memballoon model='virtio'/>", "<bogus/>"));
        List<String> problems = new GoldenHarness(cases, false).check(copy);
        assertTrue(problems.stream().anyMatch(problem -> problem.startsWith("copy: libvirt rejects the output: virt-xml-validate")), problems.toString());
    }

    @Test
    void regenerationRewritesAndStillFails(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        Files.writeString(copy.resolve("expected.stderr"), "stale\n");
        List<String> problems = new GoldenHarness(cases, true).check(copy);
        assertTrue(problems.stream().anyMatch(problem -> problem.contains("regenerated expected.stderr")), problems.toString());
        assertEquals("", Files.readString(copy.resolve("expected.stderr")));
        assertEquals(List.of(), new GoldenHarness(cases, false).check(copy));
    }

    @Test
    void failsOnDuplicateCases(@TempDir Path cases) throws IOException {
        copyCase(cases, "one");
        copyCase(cases, "two");
        List<String> problems = new GoldenHarness(cases, false).checkDirectory();
        assertEquals(List.of("two: duplicate of one"), problems);
    }

    private static Path copyCase(Path cases, String name) throws IOException {
        Path target = Files.createDirectories(cases.resolve(name));
        try (Stream<Path> files = Files.list(SOURCE_CASE)) {
            for (Path file : files.toList()) {
                Files.copy(file, target.resolve(file.getFileName()));
            }
        }
        // host.ref is relative to the case; point it at the real shared host.
        Files.writeString(target.resolve("host.ref"), SOURCE_CASE.resolve(Files.readString(SOURCE_CASE.resolve("host.ref")).strip()).normalize().toAbsolutePath() + "\n");
        return target;
    }
}
