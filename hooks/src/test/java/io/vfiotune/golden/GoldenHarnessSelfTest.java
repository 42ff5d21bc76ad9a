package io.vfiotune.golden;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.stack.Stack;
import io.vfiotune.stack.Stacks;

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
        assertEquals(List.of(), harness(cases, false).check(copy));
    }

    @Test
    void failsOnAnUnusedFile(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        Files.writeString(copy.resolve("expected.xml.orig"), "left behind");
        List<String> problems = harness(cases, false).check(copy);
        assertTrue(problems.contains("copy: unused file expected.xml.orig"), problems.toString());
    }

    @Test
    void failsOnAStaleExpectedFile(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        Files.writeString(copy.resolve("expected.xml"), Files.readString(copy.resolve("expected.xml")).replace("QEMUGuest2", "Stale"));
        List<String> problems = harness(cases, false).check(copy);
        assertTrue(problems.stream().anyMatch(problem -> problem.startsWith("copy: stale expected.xml")), problems.toString());
    }

    @Test
    void failsWhenLibvirtRejectsTheOutput(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        // Unannotated, so vfio-tune passes it through untouched; libvirt's schema has no <bogus>.
        Files.writeString(copy.resolve("input.xml"), Files.readString(copy.resolve("input.xml")).replace("<memballoon model='virtio'/>", "<bogus/>"));
        List<String> problems = harness(cases, false).check(copy);
        for (Stack stack : Stacks.all()) {
            assertTrue(problems.contains("copy: " + stack + " rejects the output: virt-xml-validate: " + validationMessage(problems, stack)), problems.toString());
        }
    }

    @Test
    void failsWhenNoStackCanJudgeTheOutput(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        // A property no QEMU has: no stack can take the output, so nothing would judge it.
        Files.writeString(copy.resolve("input.xml"), Files.readString(copy.resolve("input.xml")).replace("</devices>",
                "</devices>\n  <qemu:override xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><qemu:device alias='ua-x'><qemu:frontend>"
                        + "<qemu:property name='x-no-such-property' type='bool' value='true'/></qemu:frontend></qemu:device></qemu:override>"));
        List<String> problems = harness(cases, false).check(copy);
        assertTrue(problems.stream().anyMatch(problem -> problem.startsWith("copy: judged by no stack")), problems.toString());
    }

    @Test
    void failsOnTheArgvOfAStackThatDoesNotJudge(@TempDir Path cases) throws IOException {
        Path copy = copyCase(GoldenCasesTest.CASES.resolve("igd-q35-auto-upt-qemu100"), cases, "copy");
        Stack older = Stacks.debian12();
        Files.writeString(copy.resolve(GoldenHarness.argvFile(older)), "left from before\n");
        List<String> problems = harness(cases, false).check(copy);
        assertTrue(problems.contains("copy: " + GoldenHarness.argvFile(older) + " exists but that stack's QEMU cannot take the output, so it does not judge it"), problems.toString());
    }

    @Test
    void comparesAnArgvOnlyWithOneRecordedForTheStacksExactVersions(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        Stack stack = Stacks.any();
        // As if the mirror had moved since the argv was recorded: another point release, another argv.
        String otherVersions = "libvirt" + stack.libvirtVersion() + "-qemu0.0.1";
        Files.move(copy.resolve(GoldenHarness.argvFile(stack)), copy.resolve("expected." + stack.name() + "." + otherVersions + ".argv"));
        Files.writeString(copy.resolve("expected." + stack.name() + "." + otherVersions + ".argv"), "what an older QEMU rendered\n");
        GoldenHarness harness = harness(cases, false);
        assertEquals(List.of(), harness.check(copy), "a moved mirror is no failure");
        String verdict = harness.verdicts().stream().filter(v -> v.stack().equals(stack.name())).findFirst().orElseThrow().verdict();
        assertTrue(verdict.contains("argv NOT COMPARED: recorded only for [" + otherVersions + "], this stack is " + stack.id()), verdict);
    }

    @Test
    void failsWhenAJudgingStackHasNoArgvRecordedForAnyVersion(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        Stack stack = Stacks.any();
        Files.delete(copy.resolve(GoldenHarness.argvFile(stack)));
        List<String> problems = harness(cases, false).check(copy);
        assertTrue(problems.contains("copy: missing " + GoldenHarness.argvFile(stack) + "; regenerate with -D" + GoldenHarness.REGENERATE_PROPERTY + "=true"), problems.toString());
    }

    @Test
    void regenerationReplacesAnArgvOfOtherVersions(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        Stack stack = Stacks.any();
        Path other = copy.resolve("expected." + stack.name() + ".libvirt0.0.1-qemu0.0.1.argv");
        Files.move(copy.resolve(GoldenHarness.argvFile(stack)), other);
        List<String> problems = harness(cases, true).check(copy);
        assertTrue(problems.contains("copy: regenerated: removed " + other.getFileName() + ", recorded for other versions of " + stack.name()), problems.toString());
        assertTrue(Files.notExists(other));
        assertEquals(List.of(), harness(cases, false).check(copy));
    }

    @Test
    void verdictTableHasAColumnPerStackAndCountsJudges() {
        List<GoldenHarness.Verdict> verdicts = List.of(
                new GoldenHarness.Verdict("a", "one", "output valid", true), new GoldenHarness.Verdict("a", "two", "output valid", true),
                new GoldenHarness.Verdict("b", "one", "not judged: QEMU 1.0.0's vfio-pci has no x-y", false), new GoldenHarness.Verdict("b", "two", "output valid", true),
                new GoldenHarness.Verdict("c", "one", "not judged: too old", false), new GoldenHarness.Verdict("c", "two", "not judged: too old", false));
        String table = GoldenCasesTest.verdictTable(verdicts, List.of("one", "two"), List.of("One (1)", "Two (2)"));
        assertEquals("""
                | case | One (1) | Two (2) |
                |---|---|---|
                | a | output valid | output valid |
                | b | not judged: QEMU 1.0.0's vfio-pci has no x-y | output valid |
                | c | not judged: too old | not judged: too old |

                judged by 2 stacks: 1 cases
                judged by 1 stack: 1 cases
                judged by 0 stacks: 1 cases [c]
                argv not compared (no file for the stack's exact versions): 0
                """, table);
    }

    private static String validationMessage(List<String> problems, Stack stack) {
        String prefix = "copy: " + stack + " rejects the output: virt-xml-validate: ";
        return problems.stream().filter(problem -> problem.startsWith(prefix)).findFirst().map(problem -> problem.substring(prefix.length())).orElse("<none>");
    }

    private static GoldenHarness harness(Path cases, boolean regenerate) {
        return new GoldenHarness(cases, regenerate, Stacks.all());
    }

    @Test
    void regenerationRewritesAndStillFails(@TempDir Path cases) throws IOException {
        Path copy = copyCase(cases, "copy");
        Files.writeString(copy.resolve("expected.stderr"), "stale\n");
        List<String> problems = harness(cases, true).check(copy);
        assertTrue(problems.stream().anyMatch(problem -> problem.contains("regenerated expected.stderr")), problems.toString());
        assertEquals("", Files.readString(copy.resolve("expected.stderr")));
        assertEquals(List.of(), harness(cases, false).check(copy));
    }

    @Test
    void failsOnDuplicateCases(@TempDir Path cases) throws IOException {
        copyCase(cases, "one");
        copyCase(cases, "two");
        List<String> problems = harness(cases, false).checkDirectory();
        assertEquals(List.of("two: duplicate of one"), problems);
    }

    private static Path copyCase(Path cases, String name) throws IOException {
        return copyCase(SOURCE_CASE, cases, name);
    }

    private static Path copyCase(Path source, Path cases, String name) throws IOException {
        Path target = Files.createDirectories(cases.resolve(name));
        try (Stream<Path> files = Files.list(source)) {
            for (Path file : files.toList()) {
                Files.copy(file, target.resolve(file.getFileName()));
            }
        }
        // host.ref is relative to the case; point it at the real shared host.
        Files.writeString(target.resolve("host.ref"), source.resolve(Files.readString(source.resolve("host.ref")).strip()).normalize().toAbsolutePath() + "\n");
        return target;
    }
}
