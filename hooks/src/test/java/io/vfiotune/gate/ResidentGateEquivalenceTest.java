package io.vfiotune.gate;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.cli.HookJudge;
import io.vfiotune.golden.CliRun;
import io.vfiotune.probe.fixture.HostFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The resident gate changes how fast the verdict comes, never the verdict:
 * for every golden case (its input, and its expected output when the plan
 * succeeds) and every hostile input, the installed launcher's answer from a
 * running gate equals the in-process {@code hook NAME prepare begin} (exit
 * status and finding codes), or, where the in-process hook exits 1, the
 * launcher asks no verdict of the gate and plans in process itself.
 */
class ResidentGateEquivalenceTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final String TAIL = "<name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/></metadata></domain>";

    @TempDir
    Path work;

    @Test
    void everyGoldenCaseAndHostileInputGetsTheInProcessVerdict() throws Exception {
        Path spool = work.resolve("run/gate");
        Path base = Files.writeString(work.resolve("base.properties"), "gate-directory=" + spool + "\n");
        GateLauncher launcher = GateLauncher.install(work.resolve("qemu.d"), base);
        Map<String, Path> sysfsByHost = new HashMap<>();
        Map<String, Question> questions = new LinkedHashMap<>();
        List<Path> cases;
        try (Stream<Path> entries = Files.list(ROOT.resolve("src/golden"))) {
            cases = entries.filter(Files::isDirectory).sorted().toList();
        }
        for (Path directory : cases) {
            Path config = caseConfig(directory, spool, sysfsByHost);
            questions.put(directory.getFileName() + "/input.xml", new Question(config, Files.readAllBytes(directory.resolve("input.xml"))));
            Path expected = directory.resolve("expected.xml");
            if (Files.isRegularFile(expected)) {
                questions.put(directory.getFileName() + "/expected.xml", new Question(config, Files.readAllBytes(expected)));
            }
        }
        Path hostile = Files.writeString(work.resolve("hostile.properties"), "sysfs-root=/nonexistent\n");
        hostileInputs().forEach((name, xml) -> questions.put("hostile/" + name, new Question(hostile, xml)));

        try (GateSpool gate = GateSpool.start(spool, HookJudge.INSTANCE::judge, problem -> { })) {
            List<String> problems = new ArrayList<>();
            int verdicts = 0;
            int asked = 0;
            for (Map.Entry<String, Question> entry : questions.entrySet()) {
                Question question = entry.getValue();
                CliRun.Result inProcess = CliRun.runWithConfig(question.xml(), question.config(), "hook", "gate-case", "prepare", "begin", "-");
                GateLauncher.Result fast = launcher.prepare("gate-case", question.config(), question.xml());
                if (inProcess.status() == 1) {
                    if (fast.status() != GateLauncher.FELL_THROUGH) {
                        problems.add(entry.getKey() + ": in process exit 1 (" + GateLauncher.codes(inProcess.stderr()) + "), yet the gate gave exit " + fast.status());
                    }
                    continue;
                }
                verdicts++;
                // The launcher's shell answers an unannotated domain itself unless a policy is in effect; every other verdict is the gate's.
                if (new String(question.xml(), StandardCharsets.ISO_8859_1).contains("urn:vfio-tune:1") || Files.readString(question.config()).contains("policy-file=")) {
                    asked++;
                }
                if (fast.status() != inProcess.status() || !fast.codes().equals(GateLauncher.codes(inProcess.stderr()))) {
                    problems.add(entry.getKey() + ": in process exit " + inProcess.status() + " " + GateLauncher.codes(inProcess.stderr())
                            + ", resident gate exit " + fast.status() + " " + fast.codes() + " " + fast.stderr().strip());
                }
            }
            assertEquals(List.of(), problems, String.join("\n", problems));
            // Not vacuous: every verdict above came over the spool, none from a fallback.
            assertEquals(asked, gate.answered(), "questions answered by the gate");
            assertTrue(verdicts > 150, "golden inputs and outputs with a verdict: " + verdicts);
        }
    }

    private record Question(Path config, byte[] xml) {
    }

    /** The case's FACTS as the hook's configuration file (the hook takes no options): the same keys, over the case's materialised host. */
    private Path caseConfig(Path directory, Path spool, Map<String, Path> sysfsByHost) throws IOException {
        Path inline = directory.resolve("host");
        Path host = Files.isDirectory(inline) ? inline : directory.resolve(Files.readString(directory.resolve("host.ref")).strip()).normalize();
        Path sysfs = sysfsByHost.get(host.toString());
        if (sysfs == null) {
            sysfs = HostFixture.load(host).materialize(Files.createDirectories(work.resolve("hosts/" + sysfsByHost.size())));
            sysfsByHost.put(host.toString(), sysfs);
        }
        StringBuilder properties = new StringBuilder("sysfs-root=" + sysfs + "\ngate-directory=" + spool + "\n");
        Path args = directory.resolve("args");
        if (Files.isRegularFile(args)) {
            List<String> words = Files.readAllLines(args).stream().map(String::strip).filter(line -> !line.isEmpty()).toList();
            for (int i = 0; i + 1 < words.size(); i += 2) {
                properties.append(words.get(i).replaceFirst("^--", "")).append('=').append(words.get(i + 1)).append('\n');
            }
        }
        Path policy = directory.resolve("policy.xml");
        if (Files.isRegularFile(policy)) {
            properties.append("policy-file=").append(policy.toAbsolutePath().normalize()).append('\n');
        }
        return Files.writeString(work.resolve(directory.getFileName() + ".properties"), properties.toString());
    }

    /** The inputs HostileInputTest refuses, as the gate would get them. */
    private static Map<String, byte[]> hostileInputs() {
        Map<String, byte[]> inputs = new LinkedHashMap<>();
        inputs.put("malformed", utf8("<domain type='qemu'><name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/>"));
        inputs.put("external-entity", utf8("<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain type='qemu'><name>&x;</name>"
                + "<metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/></metadata></domain>"));
        StringBuilder laughs = new StringBuilder("<!DOCTYPE domain [<!ENTITY a0 'lol'>");
        for (int i = 1; i < 10; i++) {
            laughs.append("<!ENTITY a").append(i).append(" '").append(("&a" + (i - 1) + ";").repeat(10)).append("'>");
        }
        inputs.put("billion-laughs", utf8(laughs + "]><domain type='qemu'><name>&a9;</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/></metadata></domain>"));
        inputs.put("oversized", utf8("<domain type='qemu'><!--" + "x".repeat(11 * 1024 * 1024) + "-->" + TAIL));
        inputs.put("deep", utf8("<domain type='qemu'>" + "<a>".repeat(10_000) + "</a>".repeat(10_000) + TAIL));
        inputs.put("utf-16", ("<domain type='qemu'>" + TAIL).getBytes(StandardCharsets.UTF_16));
        inputs.put("latin-1", ("<domain type='qemu'><name>\u00e9</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/></metadata></domain>").getBytes(StandardCharsets.ISO_8859_1));
        String whole = "<domain type='qemu'>" + TAIL;
        inputs.put("truncated", utf8(whole.substring(0, whole.length() - 20)));
        inputs.put("two-tunes", utf8("<domain type='qemu'><name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/><vt:tune xmlns:vt='urn:vfio-tune:1'/></metadata></domain>"));
        inputs.put("unknown-element", utf8("<domain type='qemu'><name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'><vt:turbo/></vt:tune></metadata></domain>"));
        inputs.put("unknown-attribute", utf8("<domain type='qemu'><name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'><vt:cliques mode='auto' turbo='1'/></vt:tune></metadata></domain>"));
        inputs.put("path-traversal", utf8("<domain type='qemu'><name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'>"
                + "<vt:hostdev host='0000:00:00.0/../../../etc' clique='1'/></vt:tune></metadata></domain>"));
        inputs.put("name-with-newline", utf8("<domain type='qemu'><name>x\ny</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/></metadata></domain>"));
        return inputs;
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
