package io.vfiotune.cli;

import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.xml.engine.PlanResult;
import io.vfiotune.xml.engine.SecureXmlReader;
import io.vfiotune.xml.engine.XmlEquivalence;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Callable;

/**
 * Define-time rewriting through libvirt: read each domain's inactive
 * definition, plan it, and redefine it only when the plan changed it. A
 * refused plan defines nothing. Domains without {@code <vt:tune>} are never
 * touched, so {@code --all} is safe.
 */
@Command(name = "apply", description = "Plan domains read from libvirt and redefine the ones whose plan changed.")
final class ApplyCommand implements Callable<Integer> {
    /** VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE: the persistent definition, passwords included, so a redefine loses nothing. */
    static final int INACTIVE_SECURE_XML = 1 | 2;

    @ParentCommand
    Main main;

    @Mixin
    FactsOptions facts;

    @Option(names = {"-c", "--connect"}, paramLabel = "URI", description = "libvirt URI (default qemu:///system).")
    String uri = "qemu:///system";

    @ArgGroup(multiplicity = "1")
    Selection selection;

    static final class Selection {
        @Parameters(paramLabel = "DOMAIN", arity = "1..*", description = "Domain names.")
        List<String> names;

        @Option(names = "--all", description = "Every defined domain; those without <vt:tune> are skipped untouched.")
        boolean all;
    }

    @Override
    public Integer call() {
        ExitStatus worst = ExitStatus.OK;
        try {
            Connect connection = new Connect(uri);
            try {
                for (String name : names(connection)) {
                    ExitStatus status = apply(connection, name);
                    worst = status.code() > worst.code() ? status : worst;
                }
            } finally {
                connection.close();
            }
        } catch (LibvirtException e) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("LIBVIRT-ERROR", uri, e.getMessage()));
        }
        return worst.code();
    }

    private List<String> names(Connect connection) throws LibvirtException {
        if (!selection.all) {
            return selection.names;
        }
        TreeSet<String> names = new TreeSet<>(List.of(connection.listDefinedDomains()));
        for (int id : connection.listDomains()) {
            names.add(connection.domainLookupByID(id).getName());
        }
        return new ArrayList<>(names);
    }

    private ExitStatus apply(Connect connection, String name) throws LibvirtException {
        Domain domain;
        try {
            domain = connection.domainLookupByName(name);
        } catch (LibvirtException e) {
            main.console.err().println(Finding.error("DOMAIN-MISSING", "domain " + name, e.getMessage()).format());
            return ExitStatus.USAGE_OR_INTERNAL;
        }
        String xml = domain.getXMLDesc(INACTIVE_SECURE_XML);
        byte[] input = SecureXmlReader.readBounded(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)), "domain " + name);
        PlanResult result;
        try {
            result = Planning.plan(main.console, facts, input);
        } catch (VfioTuneException e) {
            main.console.err().println(e.finding().format());
            return e.exitStatus();
        }
        Planning.printFindings(main.console, result);
        if (!result.annotated()) {
            main.console.out().println("vfio-tune: " + name + ": no <vt:tune>, left untouched");
        } else if (result.refused()) {
            main.console.out().println("vfio-tune: " + name + ": refused, nothing defined");
        } else if (!result.changed() || XmlEquivalence.equivalent(xml, new String(result.output().orElseThrow(), StandardCharsets.UTF_8))) {
            // libvirt re-serialises what it is given, so "already applied" is judged on meaning, not bytes.
            main.console.out().println("vfio-tune: " + name + ": already fits this host");
        } else {
            String output = new String(result.output().orElseThrow(), StandardCharsets.UTF_8);
            String diff = UnifiedDiff.diff("a/" + name + ".xml", xml, "b/" + name + ".xml", output);
            connection.domainDefineXML(output);
            main.console.out().println("vfio-tune: " + name + ": redefined (" + diff.lines().filter(line -> line.startsWith("+") && !line.startsWith("+++")).count()
                    + " lines added, " + diff.lines().filter(line -> line.startsWith("-") && !line.startsWith("---")).count() + " removed)");
        }
        main.console.out().flush();
        return result.exitStatus();
    }
}
