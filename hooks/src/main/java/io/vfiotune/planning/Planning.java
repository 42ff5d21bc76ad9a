package io.vfiotune.planning;

import com.google.inject.Injector;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.wiring.VfioTune;
import io.vfiotune.xml.engine.DomainPlanner;
import io.vfiotune.xml.engine.PlanResult;
import io.vfiotune.xml.tree.SecureXmlReader;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** What plan, diff and demo share: read the domain, wire the host, plan, report. */
public final class Planning {
    private Planning() {
    }

    public static byte[] readDomain(Console console, String source) {
        if (source.equals("-")) {
            return SecureXmlReader.readBounded(console.in(), "stdin");
        }
        Path path = Path.of(source);
        try (InputStream in = Files.newInputStream(path)) {
            return SecureXmlReader.readBounded(in, source);
        } catch (NoSuchFileException e) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("INPUT-UNREADABLE", source, "no such file"));
        } catch (IOException e) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("INPUT-UNREADABLE", source, "cannot read it: " + e.getMessage()));
        }
    }

    public static PlanResult plan(Console console, FactsOptions facts, byte[] input) {
        return plan(console, facts, input, java.util.Optional.empty());
    }

    /** Plans with a {@code <vt:tune>} a management stack supplies (it counts as the domain's own). */
    public static PlanResult plan(Console console, FactsOptions facts, byte[] input, java.util.Optional<String> suppliedTune) {
        Injector injector = VfioTune.injector(HostSettings.load(facts.asSettings(), console.environment()));
        return injector.getInstance(DomainPlanner.class).plan(input, injector.getInstance(HostTopology.class), suppliedTune);
    }

    public static void printFindings(Console console, PlanResult result) {
        for (Finding finding : result.findings()) {
            console.err().println(finding.format());
        }
        console.err().flush();
    }
}
