package io.vfiotune.cli;

import com.google.inject.Injector;
import io.vfiotune.planning.FactsOptions;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.sysfs.SysfsHostTopology;
import io.vfiotune.probe.sysfs.SysfsRoot;
import io.vfiotune.probe.sysfs.SysfsSnapshot;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostFacts;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.wiring.VfioTune;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

@Command(name = "snapshot", description = "Capture this host's PCI sysfs (config, resource, links, NUMA, facts) into DIR, which --sysfs-root DIR reads back.")
final class SnapshotCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Mixin
    FactsOptions facts;

    @Parameters(index = "0", paramLabel = "DIR", description = "Where to write the snapshot; must not exist or be empty.")
    Path target;

    @Override
    public Integer call() {
        HostSettings settings = HostSettings.load(facts.asSettings(), main.console.environment());
        Injector injector = VfioTune.injector(settings);
        SysfsHostTopology topology = injector.getInstance(SysfsHostTopology.class);
        HostFacts hostFacts = injector.getInstance(HostFacts.class);
        Map<String, String> captured = new TreeMap<>();
        capture(captured, HostSettings.ARCH, hostFacts::architecture);
        capture(captured, HostSettings.PAGE_SIZE, () -> Long.toString(hostFacts.pageSize()));
        capture(captured, HostSettings.LIBVIRT_VERSION, () -> hostFacts.libvirtVersion().toString());
        capture(captured, HostSettings.QEMU_VERSION, () -> hostFacts.qemuVersion(Optional.of(defaultEmulator(hostFacts.architecture()))).toString());
        try {
            int count = new SysfsSnapshot(new SysfsRoot(settings.sysfsRoot())).write(target, topology.listFunctions(), captured);
            main.console.out().println("vfio-tune: captured " + count + " PCI functions into " + target.toAbsolutePath().normalize()
                    + "; read it back with --sysfs-root " + target);
            main.console.out().flush();
            return ExitStatus.OK.code();
        } catch (DirectoryNotEmptyException | FileAlreadyExistsException e) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("SNAPSHOT-TARGET-EXISTS", target.toString(), "is not empty; give a new directory"));
        } catch (IOException e) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("SNAPSHOT-FAILED", target.toString(), "could not be written: " + e.getMessage()));
        }
    }

    /** The emulator libvirt would pick for a native guest, by Debian's and Fedora's binary names. */
    private static String defaultEmulator(String architecture) {
        String target = switch (architecture) {
            case "ppc64le" -> "ppc64";
            case "i686" -> "i386";
            default -> architecture;
        };
        return "/usr/bin/qemu-system-" + target;
    }

    /** A fact the machine cannot tell is left out of the snapshot, with a warning, rather than guessed. */
    private void capture(Map<String, String> out, String key, Supplier<String> fact) {
        try {
            out.put(key, fact.get());
        } catch (VfioTuneException e) {
            main.console.err().println(Finding.warning("SNAPSHOT-FACT-UNKNOWN", key, "not captured: " + e.finding().message()).format());
        }
    }
}
