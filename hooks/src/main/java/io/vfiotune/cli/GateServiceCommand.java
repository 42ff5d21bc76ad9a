package io.vfiotune.cli;

import io.vfiotune.gate.GateSpool;
import io.vfiotune.gate.ResidentGate;
import io.vfiotune.spi.ExitStatus;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * Only the resident gate, without watching libvirt: for hosts that do not run
 * {@code watch}, and for the benchmark and the tests. It answers until it is
 * stopped (SIGTERM), then removes its pid file.
 */
@Command(name = "gate-service", hidden = true,
        description = "Answer the hook's prepare-begin gate in the configured gate-directory until stopped (watch does this too).")
final class GateServiceCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Override
    public Integer call() throws InterruptedException {
        Optional<GateSpool> service = ResidentGate.start(main.console, HookJudge.INSTANCE);
        if (service.isEmpty()) {
            return ExitStatus.USAGE_OR_INTERNAL.code();
        }
        Runtime.getRuntime().addShutdownHook(new Thread(service.get()::close, "vfio-tune-gate-stop"));
        Thread.currentThread().join();
        return ExitStatus.OK.code();
    }
}
