package io.vfiotune.golden;

import io.vfiotune.cli.Main;
import io.vfiotune.planning.Console;
import io.vfiotune.probe.fixture.Directories;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.stack.Stack;
import io.vfiotune.stack.Stacks;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;


import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Golden cases in the manner of libvirt's qemuxmlconftest. One directory per case:
 * <ul>
 * <li>{@code input.xml}: the domain;</li>
 * <li>{@code host.ref}: the path of a shared host fixture directory (or {@code host/} inline);</li>
 * <li>{@code args}: optional extra FACTS options, one per line;</li>
 * <li>{@code policy.xml}: optional host policy, passed as {@code --policy-file} (an unannotated input may then change);</li>
 * <li>{@code expected.status} and {@code expected.stderr}: exit code and findings;</li>
 * <li>{@code expected.xml} and {@code expected.<stack>.<versions>.argv} per judging stack when the plan
 * succeeds, such as {@code expected.debian13.libvirt11.3.0-qemu10.0.13.argv}: an argv is compared only
 * with one recorded for the stack's exact versions (a mirror that moved is said in the verdict table,
 * never a failure); a judging stack with no argv recorded for any version fails the case.</li>
 * </ul>
 * Every output is planned again (idempotence), validated by virt-xml-validate and
 * turned into QEMU argv by virsh domxml-to-native. With regeneration on, expected
 * files are rewritten and the case still fails, so every change shows in review.
 */
public final class GoldenHarness {
    public static final String REGENERATE_PROPERTY = "vfio-tune.regenerate";
    private static final Set<String> KNOWN_FILES = Set.of("input.xml", "host.ref", "host", "args", "policy.xml", "README",
            "expected.status", "expected.stderr", "expected.xml", "expected.needs");

    /** An argv file: the stack's name, then the exact versions it was recorded with. */
    private static final java.util.regex.Pattern ANY_ARGV_FILE = java.util.regex.Pattern.compile("expected\\.([a-z0-9-]+)\\.(libvirt[0-9.]+-qemu[0-9.]+)\\.argv");

    private final Path casesDirectory;
    private final boolean regenerate;
    private final List<Stack> stacks;
    private final List<Verdict> verdicts = Collections.synchronizedList(new ArrayList<>());

    /** What one stack said of one case, for the run's table; {@code judged} when it judged the case at all. */
    public record Verdict(String caseName, String stack, String verdict, boolean judged) {
    }

    public GoldenHarness(Path casesDirectory, boolean regenerate, List<Stack> stacks) {
        this.casesDirectory = casesDirectory;
        this.regenerate = regenerate;
        this.stacks = List.copyOf(stacks);
    }

    public List<Verdict> verdicts() {
        return List.copyOf(verdicts);
    }

    /** {@code expected.<stack>.<versions>.argv}: each stack's libvirt renders its own argv, as qemuxmlconftest keeps one per QEMU. */
    static String argvFile(Stack stack) {
        return "expected." + stack.name() + "." + stack.id() + ".argv";
    }

    /** Every argv file of a case recorded by the stack named {@code stackName}, whatever its versions. */
    private static List<String> argvFiles(Path directory, String stackName) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(path -> path.getFileName().toString()).filter(file -> {
                java.util.regex.Matcher matcher = ANY_ARGV_FILE.matcher(file);
                return matcher.matches() && matcher.group(1).equals(stackName);
            }).sorted().toList();
        }
    }

    private boolean knownFile(String file) {
        java.util.regex.Matcher argv = ANY_ARGV_FILE.matcher(file);
        // An argv of a known stack, for these versions or others (kept for the machines that have those).
        return KNOWN_FILES.contains(file) || argv.matches() && Stacks.NAMES.contains(argv.group(1));
    }

    public static boolean regenerateRequested() {
        return Boolean.getBoolean(REGENERATE_PROPERTY) || "1".equals(System.getenv("VFIO_TUNE_REGENERATE"));
    }

    public List<Path> cases() throws IOException {
        try (Stream<Path> entries = Files.list(casesDirectory)) {
            return entries.filter(Files::isDirectory).sorted().toList();
        }
    }

    /** Problems of the whole directory: duplicate cases. Per-case problems come from {@link #check(Path)}. */
    public List<String> checkDirectory() throws IOException {
        List<String> problems = new ArrayList<>();
        Map<String, Path> seen = new HashMap<>();
        for (Path directory : cases()) {
            String key = Files.readString(directory.resolve("input.xml")) + "\0" + readOptional(directory.resolve("host.ref")) + "\0" + readOptional(directory.resolve("args"))
                    + "\0" + readOptional(directory.resolve("policy.xml"));
            Path previous = seen.putIfAbsent(key, directory);
            if (previous != null) {
                problems.add(directory.getFileName() + ": duplicate of " + previous.getFileName());
            }
        }
        return problems;
    }

    /** Runs one case; an empty list means it passed. */
    public List<String> check(Path directory) throws IOException {
        List<String> problems = new ArrayList<>();
        String name = directory.getFileName().toString();
        try (Stream<Path> files = Files.list(directory)) {
            files.map(path -> path.getFileName().toString()).filter(file -> !knownFile(file)).sorted()
                    .forEach(file -> problems.add(name + ": unused file " + file));
        }
        Path input = directory.resolve("input.xml");
        if (!Files.isRegularFile(input)) {
            problems.add(name + ": missing input.xml");
            return problems;
        }
        Path sysfs = Files.createTempDirectory("vfio-tune-golden");
        try {
            HostFixture.load(hostDirectory(directory)).materialize(sysfs);
            List<String> arguments = new ArrayList<>(List.of("plan", "--sysfs-root", sysfs.toString()));
            arguments.addAll(readOptional(directory.resolve("args")).lines().map(String::strip).filter(line -> !line.isEmpty()).toList());
            Path policy = directory.resolve("policy.xml");
            if (Files.isRegularFile(policy)) {
                arguments.addAll(List.of("--policy-file", policy.toAbsolutePath().normalize().toString()));
            }
            arguments.add(input.toString());
            Run run = runCli(arguments, new byte[0]);
            compare(directory, "expected.status", run.status + "\n", problems);
            compare(directory, "expected.stderr", run.stderr.replace(sysfs.toString(), "SYSFS").replace(directory.toAbsolutePath().normalize().toString(), "CASE"), problems);
            if (run.status != 0) {
                if (!run.stdout.isEmpty()) {
                    problems.add(name + ": a refused plan wrote " + run.stdout.length() + " bytes to stdout");
                }
                expectAbsent(directory, "expected.xml", "the plan was refused", problems);
                for (Stack stack : stacks) {
                    expectNoArgv(directory, stack, "the plan was refused", problems);
                }
                // exit 1 for the host's configuration (a bad policy file), not for the input: the input itself must be valid
                boolean configuration = run.stderr.contains("[POLICY-INVALID]") || run.stderr.contains("[CONFIG-INVALID]");
                judgeRefusedInput(directory, Files.readAllBytes(input), configuration ? 2 : run.status, configuration, problems);
                return problems;
            }
            compare(directory, "expected.xml", run.stdout, problems);
            byte[] inputBytes = Files.readAllBytes(input);
            String inputText = new String(inputBytes, StandardCharsets.UTF_8);
            if (!inputText.contains("urn:vfio-tune:1") && !Files.isRegularFile(policy) && !run.stdout.equals(inputText)) {
                problems.add(name + ": an unannotated domain did not come out byte-identical");
            }
            List<String> again = new ArrayList<>(arguments.subList(0, arguments.size() - 1));
            again.add("-");
            Run second = runCli(again, run.stdout.getBytes(StandardCharsets.UTF_8));
            if (second.status != 0 || !second.stdout.equals(run.stdout)) {
                problems.add(name + ": not idempotent: planning the output again gave exit " + second.status + (second.stdout.equals(run.stdout) ? "" : " and a different document"));
            }
            judgeOutput(directory, run.stdout, problems);
        } finally {
            Directories.deleteTree(sysfs);
        }
        return problems;
    }

    /**
     * Every stack whose versions can honour the output validates it, renders its
     * argv (compared with that stack's expected argv for its exact versions) and lists every
     * property it sets; a case no stack could judge fails. Every stack of the run gets a
     * verdict for the case, a stack that does not judge it with the reason.
     */
    private void judgeOutput(Path directory, String output, List<String> problems) throws IOException {
        String name = directory.getFileName().toString();
        Set<String> written = StackJudges.properties(Files.readString(directory.resolve("input.xml")));
        for (String property : StackJudges.properties(output)) {
            if (!written.contains(property) && io.vfiotune.platform.VfioPciProperty.byQemuName(property).isEmpty()) {
                problems.add(name + ": vfio-tune emitted " + property + ", which is not in its property table (VfioPciProperty)");
            }
        }
        int judged = 0;
        Optional<io.vfiotune.spi.Version> needsLibvirt = libvirtNeeded(directory);
        JudgingMachine.Rendering rendering = JudgingMachine.adapt(output);
        for (Stack stack : stacks) {
            if (needsLibvirt.isPresent() && stack.libvirtVersion().compareTo(needsLibvirt.get()) < 0) {
                expectNoArgv(directory, stack, "that stack's libvirt is older than the " + needsLibvirt.get() + " the output is for", problems);
                verdicts.add(new Verdict(name, stack.name(), "not judged: libvirt " + stack.libvirtVersion() + " is older than the " + needsLibvirt.get() + " the output is for (expected.needs)", false));
                continue;
            }
            Optional<String> cannot = StackJudges.cannotJudge(stack, output);
            if (cannot.isPresent()) {
                expectNoArgv(directory, stack, "that stack's QEMU cannot take the output, so it does not judge it", problems);
                verdicts.add(new Verdict(name, stack.name(), "not judged: " + cannot.get(), false));
                continue;
            }
            judged++;
            Path staged = stack.stage(name + ".xml", output.getBytes(StandardCharsets.UTF_8));
            try {
                List<String> stackProblems = new ArrayList<>();
                List<String> said = new ArrayList<>();
                Libvirt.Result validation = stack.validate(staged);
                if (!validation.ok()) {
                    stackProblems.add(name + ": " + stack + " rejects the output: virt-xml-validate: " + (validation.stderr() + validation.stdout()).strip());
                }
                Path renderedFile = rendering.xml().equals(output) ? staged : stack.stage(name + "-rendered.xml", rendering.xml().getBytes(StandardCharsets.UTF_8));
                Libvirt.Result argv;
                try {
                    argv = stack.domxmlToNative(renderedFile);
                } finally {
                    if (!renderedFile.equals(staged)) {
                        Files.deleteIfExists(renderedFile);
                    }
                }
                if (!argv.ok()) {
                    stackProblems.add(name + ": " + stack + " rejects the output: domxml-to-native: " + argv.stderr().strip());
                } else {
                    said.add(compareArgv(directory, stack, Libvirt.normalizeArgv(argv.stdout()), stackProblems));
                }
                StackJudges.missingProperties(stack, output).forEach(problem -> stackProblems.add(name + ": " + problem));
                said.add("properties exist");
                verdicts.add(new Verdict(name, stack.name(), stackProblems.isEmpty()
                        ? "output valid, " + String.join(", ", said) + (rendering.notes().isEmpty() ? "" : " (" + String.join("; ", rendering.notes()) + ")") : "FAILED", true));
                problems.addAll(stackProblems);
            } finally {
                Files.deleteIfExists(staged);
            }
        }
        // Each stack of the run has its verdict above; a partial run (-Dvfio-tune.stacks) may leave a case unjudged on purpose.
        if (judged == 0 && !Stacks.partial()) {
            problems.add(name + ": judged by no stack: none of " + stacks + " can take the output"
                    + (needsLibvirt.isPresent() ? " (it needs libvirt " + needsLibvirt.get() + ")" : "") + "; properties " + StackJudges.properties(output));
        }
    }

    /**
     * Compares a stack's argv with the one recorded for its exact versions, and says what was
     * done. Without such a file, but with one recorded for other versions of the same stack
     * (the mirror moved), the argv is not compared, and the verdict says so.
     */
    private String compareArgv(Path directory, Stack stack, String argv, List<String> problems) throws IOException {
        String file = argvFile(stack);
        List<String> others = new ArrayList<>(argvFiles(directory, stack.name()));
        others.remove(file);
        if (regenerate) {
            for (String other : others) {
                Files.delete(directory.resolve(other));
                problems.add(directory.getFileName() + ": regenerated: removed " + other + ", recorded for other versions of " + stack.name());
            }
            compare(directory, file, argv, problems);
            return "argv matches";
        }
        if (!Files.exists(directory.resolve(file)) && !others.isEmpty()) {
            return "argv NOT COMPARED: recorded only for " + others.stream().map(other -> other.replaceFirst("^expected\\.[a-z0-9-]+\\.", "").replaceFirst("\\.argv$", "")).toList()
                    + ", this stack is " + stack.id();
        }
        compare(directory, file, argv, problems);
        return "argv matches";
    }

    /** A stack that does not judge a case has no argv of it, for any version. */
    private void expectNoArgv(Path directory, Stack stack, String because, List<String> problems) throws IOException {
        for (String file : argvFiles(directory, stack.name())) {
            expectAbsent(directory, file, because, problems);
        }
    }

    /**
     * A refused plan has no output; each stack judges the input instead. A
     * refusal for the host or QEMU (exit 2) must be of a domain libvirt accepts,
     * so the refusal is vfio-tune's finding and not a schema error; input that
     * vfio-tune calls unreadable (exit 1) must be refused by libvirt too.
     */
    private void judgeRefusedInput(Path directory, byte[] input, int status, boolean configuration, List<String> problems) throws IOException {
        String name = directory.getFileName().toString();
        for (Stack stack : stacks) {
            Path staged = stack.stage(name + ".xml", input);
            try {
                boolean valid = stack.validate(staged).ok();
                boolean agrees = status == 2 ? valid : !valid;
                if (!agrees) {
                    problems.add(name + ": " + stack + (valid ? " accepts the input vfio-tune rejects as unreadable" : " rejects the input: vfio-tune's refusal hides a schema error"));
                }
                verdicts.add(new Verdict(name, stack.name(), !agrees ? "FAILED"
                        : configuration ? "input valid; the host's configuration refused (exit 1)"
                        : status == 2 ? "input valid; refused by vfio-tune (exit 2)" : "input rejected by libvirt too (exit " + status + ")", true));
            } finally {
                Files.deleteIfExists(staged);
            }
        }
    }

    /**
     * {@code expected.needs}: {@code libvirt X.Y.Z} for an output in a form only that libvirt
     * reads (Grace's {@code <acpi nodeset>}, 11.8); older stacks do not judge it.
     */
    private static Optional<io.vfiotune.spi.Version> libvirtNeeded(Path directory) throws IOException {
        Path needs = directory.resolve("expected.needs");
        if (!Files.exists(needs)) {
            return Optional.empty();
        }
        String text = Files.readString(needs).strip();
        if (!text.startsWith("libvirt ")) {
            throw new IllegalStateException(needs + ": expected 'libvirt X.Y.Z', found '" + text + "'");
        }
        return Optional.of(io.vfiotune.spi.Version.parse(text.substring("libvirt ".length()).strip()));
    }

    /** The exact command to rerun one case by hand, printed with every failure. */
    public static String rerunCommand(Path directory) {
        return "mvn -q -B -pl hooks -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest=GoldenCasesTest -Dvfio-tune.case=" + directory.getFileName();
    }

    private Path hostDirectory(Path directory) throws IOException {
        Path inline = directory.resolve("host");
        if (Files.isDirectory(inline)) {
            return inline;
        }
        return directory.resolve(Files.readString(directory.resolve("host.ref")).strip()).normalize();
    }

    private void compare(Path directory, String file, String actual, List<String> problems) throws IOException {
        Path expected = directory.resolve(file);
        if (regenerate) {
            if (!Files.exists(expected) || !Files.readString(expected).equals(actual)) {
                Files.writeString(expected, actual);
                problems.add(directory.getFileName() + ": regenerated " + file + " (regeneration always fails; rerun without it)");
            }
            return;
        }
        if (!Files.isRegularFile(expected)) {
            problems.add(directory.getFileName() + ": missing " + file + "; regenerate with -D" + REGENERATE_PROPERTY + "=true");
            return;
        }
        String wanted = Files.readString(expected);
        if (!wanted.equals(actual)) {
            problems.add(directory.getFileName() + ": stale " + file + ":\n" + firstDifference(wanted, actual));
        }
    }

    private void expectAbsent(Path directory, String file, String because, List<String> problems) throws IOException {
        if (Files.exists(directory.resolve(file))) {
            if (regenerate) {
                Files.delete(directory.resolve(file));
                problems.add(directory.getFileName() + ": regenerated: removed " + file);
            } else {
                problems.add(directory.getFileName() + ": " + file + " exists but " + because);
            }
        }
    }

    private static String firstDifference(String expected, String actual) {
        String[] a = expected.split("\n", -1);
        String[] b = actual.split("\n", -1);
        for (int i = 0; i < Math.max(a.length, b.length); i++) {
            String left = i < a.length ? a[i] : "<end>";
            String right = i < b.length ? b[i] : "<end>";
            if (!left.equals(right)) {
                return "  line " + (i + 1) + "\n  expected: " + left + "\n  actual:   " + right;
            }
        }
        return "  (differs only in line endings)";
    }

    private static String readOptional(Path file) throws IOException {
        return Files.isRegularFile(file) ? Files.readString(file) : "";
    }

    record Run(int status, String stdout, String stderr) {
    }

    static Run runCli(List<String> arguments, byte[] stdin) {
        // A pinned, empty config: the developer's /etc/vfio-tune must not leak into goldens.
        return runCli(arguments, stdin, emptyConfig());
    }

    static Run runCli(List<String> arguments, byte[] stdin, Path config) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Map<String, String> environment = Map.of("VFIO_TUNE_CONFIG", config.toString());
        int status = Main.run(arguments.toArray(String[]::new), new Console(new ByteArrayInputStream(stdin),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), environment));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Path emptyConfig;

    static synchronized Path emptyConfig() {
        if (emptyConfig == null) {
            try {
                emptyConfig = Files.createTempFile("vfio-tune-empty", ".properties");
                emptyConfig.toFile().deleteOnExit();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return emptyConfig;
    }

    static String join(List<String> problems) {
        return String.join("\n", problems);
    }
}
