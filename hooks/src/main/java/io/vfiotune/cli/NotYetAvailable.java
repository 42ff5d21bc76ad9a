package io.vfiotune.cli;

import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.concurrent.Callable;

/** Contract commands whose issues have not landed yet: they say so and exit 1. */
final class NotYetAvailable {
    private NotYetAvailable() {
    }

    abstract static class Pending implements Callable<Integer> {
        @Parameters(arity = "0..*", hidden = true)
        List<String> ignored;

        @Override
        public Integer call() {
            String name = getClass().getAnnotation(Command.class).name();
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL,
                    Finding.error("NOT-AVAILABLE", name, "'vfio-tune " + name + "' is not yet available in this version; see the README"));
        }
    }

    @Command(name = "watch", description = "Apply plans on libvirt define events (not yet available).")
    static final class Watch extends Pending {
    }
}
