package io.vfiotune.cli;

import io.vfiotune.planning.FactsOptions;
import io.vfiotune.planning.Planning;
import io.vfiotune.xml.engine.PlanResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

@Command(name = "plan", description = "Print the rewritten domain XML on stdout and the findings on stderr. Only reads.")
final class PlanCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Mixin
    FactsOptions facts;

    @Parameters(index = "0", paramLabel = "DOMAIN.xml|-", description = "The domain definition, or - for stdin.")
    String domain;

    @Override
    public Integer call() {
        PlanResult result = Planning.plan(main.console, facts, Planning.readDomain(main.console, domain));
        Planning.printFindings(main.console, result);
        // Write the document only after the whole plan succeeded: a refused plan prints nothing on stdout.
        result.output().ifPresent(bytes -> main.console.out().write(bytes, 0, bytes.length));
        main.console.out().flush();
        return result.exitStatus().code();
    }
}
