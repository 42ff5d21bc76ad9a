package io.vfiotune.cli;

import com.google.inject.Injector;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.sysfs.PciIds;
import io.vfiotune.probe.sysfs.SysfsHostTopology;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.PciAddress;
import io.vfiotune.spi.PciFunction;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.wiring.VfioTune;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "probe", description = "Print the host topology vfio-tune sees: devices, groups, NUMA, bridges, capabilities, MSI-X, clique room.")
final class ProbeCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Mixin
    FactsOptions facts;

    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    @Parameters(arity = "0..*", paramLabel = "BDF", description = "Functions to show (default: all).")
    List<String> functions = new ArrayList<>();

    @Override
    public Integer call() {
        long started = System.nanoTime();
        Injector injector = VfioTune.injector(HostSettings.load(facts.asSettings(), main.console.environment()));
        SysfsHostTopology topology = injector.getInstance(SysfsHostTopology.class);
        List<PciAddress> addresses = new ArrayList<>();
        for (String text : functions) {
            if (!PciAddress.isCanonical(text)) {
                throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("USAGE", text, "not a PCI address of the form 0000:3b:00.0"));
            }
            addresses.add(PciAddress.parse(text));
        }
        if (addresses.isEmpty()) {
            addresses.addAll(topology.listFunctions());
        }
        List<PciFunction> found = new ArrayList<>();
        boolean missing = false;
        for (PciAddress address : addresses) {
            Optional<PciFunction> function = topology.function(address);
            if (function.isPresent()) {
                found.add(function.get());
            } else {
                missing = true;
                main.console.err().println(Finding.error("HOSTDEV-MISSING", address.toString(), "no such PCI function on this host").format());
            }
        }
        ProbeReport report = new ProbeReport(topology, topology.facts().pageSize(), PciIds.system());
        main.console.out().print(json ? report.json(found) : report.text(found));
        main.console.out().flush();
        if ("1".equals(main.console.environment().get("VFIO_TUNE_TIMING"))) {
            // For src/scripts/bench-probe: the in-process cost, without JVM start-up.
            main.console.err().printf("vfio-tune: timing probe %d us%n", (System.nanoTime() - started) / 1000);
        }
        return missing ? ExitStatus.REFUSED.code() : ExitStatus.OK.code();
    }
}
