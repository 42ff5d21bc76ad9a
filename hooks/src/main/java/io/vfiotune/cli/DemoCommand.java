package io.vfiotune.cli;

import io.vfiotune.planning.FactsOptions;
import io.vfiotune.planning.Planning;
import io.vfiotune.planning.UnifiedDiff;
import io.vfiotune.probe.fixture.Directories;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.xml.engine.PlanResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "demo", description = "Run the main job on the bundled example host and domain: the host view, the findings and the diff.")
final class DemoCommand implements Callable<Integer> {
    static final String HOME_PROPERTY = "vfio-tune.home";

    @ParentCommand
    Main main;

    @Override
    public Integer call() throws IOException {
        Path demo = Path.of(System.getProperty(HOME_PROPERTY, ".")).resolve("src/demo");
        Path domain = demo.resolve("domain.xml");
        Path host = demo.resolve(Files.readString(demo.resolve("host.ref"), StandardCharsets.UTF_8).strip()).normalize();
        if (!Files.isRegularFile(domain)) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("INPUT-UNREADABLE", domain.toString(), "the bundled demo is missing"));
        }
        Path sysfs = Files.createTempDirectory("vfio-tune-demo");
        try {
            HostFixture.load(host).materialize(sysfs);
            FactsOptions facts = new FactsOptions();
            facts.sysfsRoot = sysfs.toString();
            main.console.out().println("== vfio-tune demo: host fixture " + host.getFileName() + ", domain " + demo.relativize(domain) + " ==");
            main.console.out().println();
            main.console.out().println("-- what the probe sees of the domain's devices (vfio-tune probe) --");
            ProbeCommand probe = new ProbeCommand();
            probe.main = main;
            probe.facts = facts;
            probe.functions = java.util.List.of("0000:03:00.0", "0000:04:00.0", "0000:81:00.0");
            probe.call();
            main.console.out().println();
            main.console.out().println("-- findings and diff (vfio-tune diff) --");
            main.console.out().flush();
            byte[] input = Files.readAllBytes(domain);
            PlanResult result = Planning.plan(main.console, facts, input);
            result.findings().forEach(finding -> main.console.out().println(finding.format()));
            String diff = result.output().map(output -> UnifiedDiff.diff("a/domain.xml", new String(input, StandardCharsets.UTF_8),
                    "b/domain.xml", new String(output, StandardCharsets.UTF_8))).orElse("");
            main.console.out().print(diff.isEmpty() ? (result.refused() ? "refused: nothing would be written\n" : "no changes: the definition already fits this host\n") : diff);
            main.console.out().flush();
            return result.exitStatus().code();
        } finally {
            Directories.deleteTree(sysfs);
        }
    }
}
