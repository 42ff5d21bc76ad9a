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

    @Command(name = "hook", description = "The libvirt hook protocol (not yet available).")
    static final class Hook extends Pending {
    }

    @Command(name = "apply", description = "Plan and redefine domains through libvirt (not yet available).")
    static final class Apply extends Pending {
    }

    @Command(name = "watch", description = "Apply plans on libvirt define events (not yet available).")
    static final class Watch extends Pending {
    }

    @Command(name = "install-hook", description = "Install the hook into /etc/libvirt/hooks/qemu.d (not yet available).")
    static final class InstallHook extends Pending {
    }
}
