package io.vfiotune.cli;

import io.vfiotune.probe.fixture.HostFixture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** For developers and the benchmark: turns a text host fixture (src/hosts/NAME) into a sysfs tree for --sysfs-root. */
@Command(name = "fixture", hidden = true, description = "Materialise a host fixture directory into a sysfs tree.")
final class FixtureCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Parameters(index = "0", paramLabel = "FIXTURE", description = "A directory with host.fixture.")
    Path fixture;

    @Parameters(index = "1", paramLabel = "DIR", description = "Where to build the tree (created).")
    Path target;

    @Override
    public Integer call() throws IOException {
        HostFixture.load(fixture).materialize(target);
        main.console.out().println(target);
        main.console.out().flush();
        return 0;
    }
}
