package io.vfiotune.cli;

import io.vfiotune.adapters.KubevirtHookCommand;
import io.vfiotune.adapters.VdsmHookCommand;
import io.vfiotune.hook.ClassArchiveCheck;
import io.vfiotune.hook.SyslogTee;
import io.vfiotune.planning.Console;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.facts.SystemLog;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.xml.annotations.AnnotationBinder;
import picocli.CommandLine.Command;
import picocli.CommandLine;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** The {@code vfio-tune} command line. */
@Command(name = "vfio-tune", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        description = "Rewrites libvirt domain XML so PCI passthrough devices are set up right for this host.",
        subcommands = {PlanCommand.class, DiffCommand.class, ProbeCommand.class, DemoCommand.class,
                HookCommand.class, ApplyCommand.class, WatchCommand.class,
                InstallHookCommand.class, SnapshotCommand.class, FixtureCommand.class, KubevirtHookCommand.class, VdsmHookCommand.class, GateServiceCommand.class})
public final class Main implements Runnable, Console.Owner {
    public final Console console;

    Main(Console console) {
        this.console = console;
    }

    @Override
    public Console console() {
        return console;
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        OutputStream stderr = new FileOutputStream(FileDescriptor.err);
        boolean teed = SyslogTee.requested(System.getenv());
        PrintStream err = teed ? SyslogTee.wrap(stderr, SystemLog.open()) : new PrintStream(stderr, true, StandardCharsets.UTF_8);
        if (args.length > 0 && args[0].equals("hook")) {
            // The installed hook names its class archive; a JVM that silently dropped it is said once.
            ClassArchiveCheck.reportIfUnused(err, !teed);
        }
        int status = run(args, new Console(System.in, out, err, System.getenv()));
        out.flush();
        System.exit(status);
    }

    /** Runs one command; never throws and never prints a stack trace unless VFIO_TUNE_DEBUG=1. */
    public static int run(String[] args, Console console) {
        if (args.length >= 4 && args.length <= 5 && args[0].equals("hook")) {
            return runHook(args, console);
        }
        CommandLine commandLine = new CommandLine(new Main(console));
        commandLine.setOut(new java.io.PrintWriter(console.out(), true));
        commandLine.setErr(new java.io.PrintWriter(console.err(), true));
        commandLine.setExitCodeExceptionMapper(exception -> exception instanceof VfioTuneException known
                ? known.exitStatus().code() : ExitStatus.USAGE_OR_INTERNAL.code());
        commandLine.setExecutionExceptionHandler((exception, line, parseResult) -> handle(exception, console));
        commandLine.setParameterExceptionHandler((exception, arguments) -> {
            console.err().println(Finding.error("USAGE", "vfio-tune", exception.getMessage()).format());
            console.err().println("Run 'vfio-tune --help' or 'vfio-tune COMMAND --help' for usage.");
            return ExitStatus.USAGE_OR_INTERNAL.code();
        });
        return commandLine.execute(args);
    }

    /**
     * libvirt runs the hook at every start of an annotated domain, and
     * building picocli's model of every command costs about 80 ms of that; the
     * hook's arguments are positional and fixed, so they are taken directly.
     */
    private static int runHook(String[] args, Console console) {
        HookCommand hook = new HookCommand();
        hook.main = new Main(console);
        hook.name = args[1];
        hook.operation = args[2];
        hook.subOperation = args[3];
        hook.extra = args.length > 4 ? args[4] : null;
        try {
            return hook.call();
        } catch (Exception e) {
            return handle(e, console);
        }
    }

    private static int handle(Exception thrown, Console console) {
        Exception exception = thrown;
        if (exception instanceof com.google.inject.ProvisionException provision && provision.getCause() instanceof VfioTuneException known) {
            // a provider's own refusal (a bad host policy file, say), reported as itself rather than as Guice's wrapper
            exception = known;
        }
        if (exception instanceof AnnotationBinder.AnnotationException annotations) {
            annotations.findings().forEach(finding -> console.err().println(finding.format()));
            return ExitStatus.REFUSED.code();
        }
        if (exception instanceof VfioTuneException known) {
            console.err().println(known.finding().format());
            return known.exitStatus().code();
        }
        console.err().println(Finding.error("INTERNAL", "vfio-tune", exception.getClass().getSimpleName() + ": " + exception.getMessage()
                + " (this is a bug; rerun with VFIO_TUNE_DEBUG=1 for details)").format());
        if ("1".equals(console.environment().get("VFIO_TUNE_DEBUG"))) {
            exception.printStackTrace(console.err());
        }
        return ExitStatus.USAGE_OR_INTERNAL.code();
    }

    @Override
    public void run() {
        new CommandLine(this).usage(console.out());
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"vfio-tune " + PackageVersion.current()};
        }
    }
}
