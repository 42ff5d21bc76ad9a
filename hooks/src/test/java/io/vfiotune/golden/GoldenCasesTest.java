package io.vfiotune.golden;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.stack.Stack;
import io.vfiotune.stack.Stacks;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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

    /**
     * The per-case table, one column per stack of the run: what each stack said of each case,
     * or why it did not judge it, then how many cases were judged by how many stacks of the run,
     * and which judgements compared no argv (also in target/golden-verdicts.md). In a full run a
     * case judged by no stack has already failed.
     */
    @AfterAll
    static void printVerdicts() throws IOException {
        if (harness == null) {
            return;
        }
        String table = verdictTable(harness.verdicts(), Stacks.all().stream().map(Stack::name).toList(),
                Stacks.all().stream().map(Stack::toString).toList());
        System.out.print(table);
        Files.writeString(Files.createDirectories(Path.of("target")).resolve("golden-verdicts.md"), table);
    }

    static String verdictTable(List<GoldenHarness.Verdict> verdicts, List<String> stackNames, List<String> stackTitles) {
        Map<String, Map<String, GoldenHarness.Verdict>> byCase = new TreeMap<>();
        for (GoldenHarness.Verdict verdict : verdicts) {
            byCase.computeIfAbsent(verdict.caseName(), name -> new LinkedHashMap<>()).put(verdict.stack(), verdict);
        }
        StringBuilder table = new StringBuilder("| case | " + String.join(" | ", stackTitles) + " |\n|---|" + "---|".repeat(stackNames.size()) + "\n");
        Map<Integer, List<String>> casesByJudges = new TreeMap<>(Comparator.reverseOrder());
        for (int count = stackNames.size(); count >= 0; count--) {
            casesByJudges.put(count, new ArrayList<>());
        }
        byCase.forEach((name, byStack) -> {
            table.append("| ").append(name);
            int judges = 0;
            for (String stack : stackNames) {
                GoldenHarness.Verdict verdict = byStack.get(stack);
                table.append(" | ").append(verdict != null ? verdict.verdict() : "no verdict");
                judges += verdict != null && verdict.judged() ? 1 : 0;
            }
            table.append(" |\n");
            casesByJudges.get(judges).add(name);
        });
        table.append("\n");
        casesByJudges.forEach((count, names) -> table.append("judged by ").append(count).append(count == 1 ? " stack: " : " stacks: ").append(names.size()).append(" cases")
                .append(count == 0 && !names.isEmpty() ? " " + names : "").append('\n'));
        // A stack whose versions moved since its argv files were recorded still judges, but compares no argv: counted, never silent.
        List<String> uncompared = verdicts.stream().filter(verdict -> verdict.verdict().contains("argv NOT COMPARED")).map(verdict -> verdict.caseName() + " on " + verdict.stack()).sorted().toList();
        table.append("argv not compared (no file for the stack's exact versions): ").append(uncompared.size()).append(uncompared.isEmpty() ? "" : " " + uncompared).append('\n');
        return table.toString();
    }
}
