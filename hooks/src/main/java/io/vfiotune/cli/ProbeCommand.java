package io.vfiotune.cli;

import com.google.inject.Injector;
import io.vfiotune.pci.PciAddress;
import io.vfiotune.pci.PciFunction;
import io.vfiotune.planning.FactsOptions;
import io.vfiotune.planning.Planning;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.sysfs.PciIds;
import io.vfiotune.probe.sysfs.SysfsHostTopology;
import io.vfiotune.report.ProbeReport;
import io.vfiotune.report.TopologyReport;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.wiring.VfioTune;
import io.vfiotune.xml.engine.DomainPlanner;
import io.vfiotune.xml.engine.PlanResult;
import io.vfiotune.xml.transforms.topology.TopologyPairs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "probe", description = "Print the host topology vfio-tune sees: devices, groups, NUMA, bridges, capabilities, MSI-X, clique placement;"
        + " with --domain, the host and guest path type of every pair of the domain's devices.")
final class ProbeCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Mixin
    FactsOptions facts;

    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    @Option(names = "--domain", paramLabel = "DOMAIN.xml|-", description = "Also show, for every pair of the domain's hostdevs, the path type NCCL finds on this host"
            + " (PIX, PXB, PHB, SYS) and the one the planned guest gives them, with each device's guest NUMA node; the functions shown are the domain's.")
    String domain;

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
        Optional<TopologyPairs.Table> pairs = Optional.empty();
        if (domain != null) {
            pairs = Optional.of(domainPairs(injector, topology));
            if (addresses.isEmpty()) {
                pairs.get().devices().forEach(device -> addresses.addAll(device.functions()));
            }
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
        if (json) {
            main.console.out().print(pairs.isEmpty() ? report.json(found) : TopologyReport.json(report.json(found), pairs.get()));
        } else {
            main.console.out().print(report.text(found));
            pairs.ifPresent(table -> main.console.out().print(TopologyReport.text(table)));
        }
        main.console.out().flush();
        if ("1".equals(main.console.environment().get("VFIO_TUNE_TIMING"))) {
            // For src/scripts/bench-probe: the in-process cost, without JVM start-up.
            main.console.err().printf("vfio-tune: timing probe %d us%n", (System.nanoTime() - started) / 1000);
        }
        return missing ? ExitStatus.REFUSED.code() : ExitStatus.OK.code();
    }

    /** The pair table of the domain as vfio-tune would write it: planned when the plan goes through, else as given. */
    private TopologyPairs.Table domainPairs(Injector injector, SysfsHostTopology topology) {
        byte[] input = Planning.readDomain(main.console, domain);
        DomainPlanner planner = injector.getInstance(DomainPlanner.class);
        PlanResult result = planner.plan(input, topology);
        if (result.output().isEmpty()) {
            main.console.err().println(Finding.warning("PROBE-NOT-PLANNED", "domain " + result.domainName(),
                    "the plan refuses (run 'vfio-tune plan' for why); the guest column shows the definition as given").format());
        }
        return TopologyPairs.of(planner.view(result.output().orElse(input)), topology);
    }
}
