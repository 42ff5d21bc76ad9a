package io.vfiotune.cli;

import io.vfiotune.planning.FactsOptions;
import io.vfiotune.planning.Planning;
import io.vfiotune.planning.UnifiedDiff;
import io.vfiotune.xml.engine.PlanResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;

@Command(name = "diff", description = "Like plan, but print a unified diff of the rewrite.")
final class DiffCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Mixin
    FactsOptions facts;

    @Parameters(index = "0", paramLabel = "DOMAIN.xml|-", description = "The domain definition, or - for stdin.")
    String domain;

    @Override
    public Integer call() {
        byte[] input = Planning.readDomain(main.console, domain);
        PlanResult result = Planning.plan(main.console, facts, input);
        Planning.printFindings(main.console, result);
        result.output().ifPresent(output -> {
            byte[] diff = UnifiedDiff.diff("a/" + displayName(), new String(input, StandardCharsets.UTF_8), "b/" + displayName(),
                    new String(output, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
            main.console.out().write(diff, 0, diff.length);
        });
        main.console.out().flush();
        return result.exitStatus().code();
    }

    private String displayName() {
        return domain.equals("-") ? "stdin" : domain;
    }
}
