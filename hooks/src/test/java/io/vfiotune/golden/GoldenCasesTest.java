package io.vfiotune.golden;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.stack.Stacks;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Runs every case under src/golden. -Dvfio-tune.case=NAME runs one; NAME* runs every case that starts with NAME. */
class GoldenCasesTest {
    static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    static final Path CASES = ROOT.resolve("src/golden");

    @BeforeAll
    static void startLibvirt() {
        Libvirt.ensureRunning();
    }

    private static GoldenHarness harness;

    @TestFactory
    Stream<DynamicTest> goldenCases() throws IOException {
        harness = new GoldenHarness(CASES, GoldenHarness.regenerateRequested(), Stacks.all());
        String only = System.getProperty("vfio-tune.case", "");
        List<Path> cases = harness.cases().stream().filter(path -> only.isEmpty() || matches(path.getFileName().toString(), only)).toList();
        assertTrue(!cases.isEmpty(), "no golden cases found under " + CASES);
        return cases.stream().map(directory -> DynamicTest.dynamicTest(directory.getFileName().toString(), () -> {
            List<String> problems = harness.check(directory);
            assertTrue(problems.isEmpty(), GoldenHarness.join(problems) + "\nrerun: " + GoldenHarness.rerunCommand(directory));
        }));
    }

    private static boolean matches(String name, String pattern) {
        return pattern.endsWith("*") ? name.startsWith(pattern.substring(0, pattern.length() - 1)) : name.equals(pattern);
    }

    @Test
    void noDuplicateCases() throws IOException {
        List<String> problems = new GoldenHarness(CASES, false, List.of()).checkDirectory();
        assertTrue(problems.isEmpty(), GoldenHarness.join(problems));
    }

    /** The per-case table: which stack judged which case, and what it said (also in target/golden-verdicts.txt). */
    @AfterAll
    static void printVerdicts() throws IOException {
        if (harness == null) {
            return;
        }
        StringBuilder table = new StringBuilder("| case | stack | verdict |\n|---|---|---|\n");
        harness.verdicts().stream().sorted(java.util.Comparator.comparing(GoldenHarness.Verdict::caseName).thenComparing(GoldenHarness.Verdict::stack))
                .forEach(verdict -> table.append("| ").append(verdict.caseName()).append(" | ").append(verdict.stack()).append(" | ").append(verdict.verdict()).append(" |\n"));
        System.out.print(table);
        Files.writeString(Files.createDirectories(Path.of("target")).resolve("golden-verdicts.md"), table);
    }
}
