package io.vfiotune.apply;

import io.vfiotune.planning.Console;
import io.vfiotune.planning.FactsOptions;
import io.vfiotune.planning.Planning;
import io.vfiotune.planning.UnifiedDiff;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.xml.engine.PlanResult;
import io.vfiotune.xml.engine.XmlEquivalence;
import io.vfiotune.xml.tree.SecureXmlReader;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;

/**
 * One domain through libvirt: read the persistent definition, plan it, and
 * redefine it only when the plan changes its meaning. What {@code apply} does
 * per name, and what {@code watch} does per DEFINED event.
 */
public final class DomainApplier {
    /** VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE: the persistent definition, passwords included, so a redefine loses nothing. */
    static final int INACTIVE_SECURE_XML = 1 | 2;
    /** How often a definition may change under us between reading and redefining before we give up on it for now. */
    static final int ATTEMPTS = 3;

    public enum Outcome { UNANNOTATED, REFUSED, FITS, REDEFINED, MISSING, CONTENDED }

    public record Applied(Outcome outcome, ExitStatus status) {
    }

    private final Console console;
    private final FactsOptions facts;

    public DomainApplier(Console console, FactsOptions facts) {
        this.console = console;
        this.facts = facts;
    }

    /**
     * libvirt has no compare-and-swap for definitions, so the definition is read
     * again right before redefining: when someone else changed it meanwhile,
     * their edit is planned instead of overwritten.
     */
    public Applied apply(Connect connection, String name) throws LibvirtException {
        Domain domain;
        try {
            domain = connection.domainLookupByName(name);
        } catch (LibvirtException e) {
            console.err().println(Finding.error("DOMAIN-MISSING", "domain " + name, e.getMessage()).format());
            return new Applied(Outcome.MISSING, ExitStatus.USAGE_OR_INTERNAL);
        }
        String xml = domain.getXMLDesc(INACTIVE_SECURE_XML);
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            PlanResult result;
            try {
                byte[] input = SecureXmlReader.readBounded(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)), "domain " + name);
                result = Planning.plan(console, facts, input);
            } catch (VfioTuneException e) {
                console.err().println(e.finding().format());
                return report(name, new Applied(Outcome.REFUSED, e.exitStatus()), "refused, nothing defined");
            }
            if (!result.annotated()) {
                return report(name, new Applied(Outcome.UNANNOTATED, ExitStatus.OK), "no <vt:tune>, left untouched");
            }
            Planning.printFindings(console, result);
            if (result.refused()) {
                return report(name, new Applied(Outcome.REFUSED, result.exitStatus()), "refused, nothing defined");
            }
            String output = new String(result.output().orElseThrow(), StandardCharsets.UTF_8);
            if (!result.changed() || XmlEquivalence.equivalent(xml, output)) {
                // libvirt re-serialises what it is given, so "already applied" is judged on meaning, not bytes.
                return report(name, new Applied(Outcome.FITS, result.exitStatus()), "already fits this host");
            }
            String current = domain.getXMLDesc(INACTIVE_SECURE_XML);
            if (!current.equals(xml)) {
                xml = current;
                continue;
            }
            String diff = UnifiedDiff.diff("a/" + name + ".xml", xml, "b/" + name + ".xml", output);
            connection.domainDefineXML(output);
            return report(name, new Applied(Outcome.REDEFINED, result.exitStatus()), "redefined ("
                    + diff.lines().filter(line -> line.startsWith("+") && !line.startsWith("+++")).count() + " lines added, "
                    + diff.lines().filter(line -> line.startsWith("-") && !line.startsWith("---")).count() + " removed)");
        }
        console.err().println(Finding.error("APPLY-CONTENDED", "domain " + name, "the definition changed " + ATTEMPTS
                + " times while it was being planned; nothing defined, run 'vfio-tune apply " + name + "' when the edits settle").format());
        return new Applied(Outcome.CONTENDED, ExitStatus.REFUSED);
    }

    private Applied report(String name, Applied applied, String what) {
        console.out().println("vfio-tune: " + name + ": " + what);
        console.out().flush();
        return applied;
    }
}
