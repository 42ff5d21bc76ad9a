package io.vfiotune.cli;

import io.vfiotune.apply.DomainApplier;
import io.vfiotune.planning.FactsOptions;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;
import org.libvirt.Connect;
import org.libvirt.LibvirtException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

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
    @ParentCommand
    Main main;

    @Mixin
    FactsOptions facts;

    @Mixin
    ConnectOption connect;

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
            Connect connection = new Connect(connect.uri);
            DomainApplier applier = new DomainApplier(main.console, facts);
            try {
                for (String name : names(connection)) {
                    ExitStatus status = applier.apply(connection, name).status();
                    worst = status.code() > worst.code() ? status : worst;
                }
            } finally {
                connection.close();
            }
        } catch (LibvirtException e) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("LIBVIRT-ERROR", connect.uri, e.getMessage()));
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

}
