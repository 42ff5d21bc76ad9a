package io.vfiotune.cli;

import io.vfiotune.planning.FactsOptions;
import io.vfiotune.planning.Planning;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.Severity;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.xml.annotations.AnnotationNamespace;
import io.vfiotune.xml.engine.PlanResult;
import io.vfiotune.xml.engine.XmlEquivalence;
import io.vfiotune.xml.tree.SecureXmlReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * The libvirt qemu hook protocol. {@code prepare begin} is a gate: libvirt
 * ignores a hook's output at start, so a definition that no longer fits this
 * host is refused with the fix ({@code vfio-tune apply NAME}) instead of being
 * started wrong. {@code migrate begin} and {@code restore begin} are filters
 * whose output libvirt uses, limited to ABI-safe changes. Everything else is
 * a no-op. The hook never calls libvirt.
 */
@Command(name = "hook", description = "The libvirt qemu hook: NAME OP SUBOP [EXTRA], domain XML on stdin.")
final class HookCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Parameters(index = "1", paramLabel = "OP")
    String operation;

    @Parameters(index = "2", paramLabel = "SUBOP")
    String subOperation;

    @Parameters(index = "3", paramLabel = "EXTRA", arity = "0..1")
    String extra;

    @Override
    public Integer call() {
        boolean gate = operation.equals("prepare");
        boolean filter = operation.equals("migrate") || operation.equals("restore");
        if (!subOperation.equals("begin") || !(gate || filter)) {
            return ExitStatus.OK.code(); // never fail reconnect, stopped or release: a failure there can kill a guest
        }
        byte[] input = SecureXmlReader.readBounded(main.console.in(), "stdin");
        String text = new String(input, StandardCharsets.UTF_8);
        if (!text.contains(AnnotationNamespace.URI) && !policyInEffect()) {
            return ExitStatus.OK.code();
        }
        // libvirt clears the hook's environment: configuration comes from the config file only.
        PlanResult result = Planning.plan(main.console, new FactsOptions(), input);
        if (result.refused()) {
            Planning.printFindings(main.console, result);
            return ExitStatus.REFUSED.code();
        }
        String output = new String(result.output().orElseThrow(), StandardCharsets.UTF_8);
        boolean fits = !result.annotated() || !result.changed() || XmlEquivalence.equivalent(text, output)
                // a policy's annotation alone (a domain whose plan changes nothing QEMU gets) is no mismatch
                || (policySelected(result) && XmlEquivalence.equivalentIgnoringPolicyTunes(text, output));
        printWarnings(result);
        return gate ? gate(result, fits) : filter(result, fits, output);
    }

    private static boolean policySelected(PlanResult result) {
        return result.findings().stream().anyMatch(finding -> finding.code().equals("POLICY-RULE") || finding.code().equals("POLICY-NONE"));
    }

    /** Whether a host policy may annotate a domain that has no annotation of its own (as the launcher's shell decides it too). */
    private boolean policyInEffect() {
        return HostSettings.load(java.util.Map.of(), main.console.environment()).policyFile().isPresent();
    }

    private int gate(PlanResult result, boolean fits) {
        if (fits) {
            return ExitStatus.OK.code();
        }
        boolean warn = result.onMismatch() == TuneAnnotations.OnMismatch.WARN;
        // With no edits, the difference is settings vfio-tune generated earlier that this host's plan no longer has.
        String wants = result.edits().isEmpty() ? "none of the settings vfio-tune generated for another host or an older plan" : describe(result);
        Optional<Finding> rule = result.findings().stream().filter(finding -> finding.code().equals("POLICY-RULE")).findFirst();
        String message = "the definition does not fit this host; the plan wants " + wants
                + ". Run 'vfio-tune apply " + name + "' to redefine it" + (warn ? " (starting anyway: on-mismatch=\"warn\")" : ", then start it again")
                + rule.map(finding -> ". " + finding.message() + ", and its definition was not rewritten before this start (a stack that defines and starts"
                        + " in one call, such as OpenStack Nova, never lets it be)").orElse("");
        main.console.err().println((warn ? Finding.warning("HOOK-MISMATCH", "domain " + name, message) : Finding.error("HOOK-MISMATCH", "domain " + name, message)).format());
        return warn ? ExitStatus.OK.code() : ExitStatus.REFUSED.code();
    }

    private int filter(PlanResult result, boolean fits, String output) {
        if (fits) {
            return ExitStatus.OK.code(); // empty output: libvirt keeps the XML as it is
        }
        if (result.edits().stream().anyMatch(DomainEdit::guestVisible)) {
            String message = "arriving on this host needs guest-visible changes (" + describe(result) + "), which libvirt's ABI check forbids on " + operation
                    + "; run 'vfio-tune apply " + name + "' on this host and start the domain fresh";
            if (result.onMismatch() == TuneAnnotations.OnMismatch.WARN) {
                // on-mismatch="warn": the guest arrives as it was saved, without the changes, and the operator is told
                main.console.err().println(Finding.warning("HOOK-GUEST-VISIBLE", "domain " + name, message + " (arriving unchanged: on-mismatch=\"warn\")").format());
                return ExitStatus.OK.code();
            }
            main.console.err().println(Finding.error("HOOK-GUEST-VISIBLE", "domain " + name, message).format());
            return ExitStatus.REFUSED.code();
        }
        // One write of the whole document, only now that the whole plan has succeeded.
        byte[] bytes = output.getBytes(StandardCharsets.UTF_8);
        main.console.out().write(bytes, 0, bytes.length);
        main.console.out().flush();
        return ExitStatus.OK.code();
    }

    private void printWarnings(PlanResult result) {
        result.findings().stream().filter(finding -> finding.severity() != Severity.INFO).forEach(finding -> main.console.err().println(finding.format()));
    }

    private static String describe(PlanResult result) {
        return result.edits().stream().map(HookCommand::describe).collect(Collectors.joining(", "));
    }

    private static String describe(DomainEdit edit) {
        if (edit instanceof DomainEdit.SetDeviceProperty property) {
            return property.hostdev() + " " + property.property() + "=" + property.value();
        } else if (edit instanceof DomainEdit.SetAliasedDeviceProperty property) {
            return property.alias() + " " + property.property() + "=" + property.value();
        } else if (edit instanceof DomainEdit.SetGuestAddress address) {
            return address.hostdev() + " at guest " + address.address();
        } else if (edit instanceof DomainEdit.AddSpaprPhb phb) {
            return "a new PHB " + phb.index();
        } else if (edit instanceof DomainEdit.AddPcieController controller) {
            return "a new " + controller.model().xmlName() + " " + controller.index();
        } else if (edit instanceof DomainEdit.AddGenericInitiators initiators) {
            return initiators.nodes().size() + " NUMA nodes with Generic Initiators for " + initiators.hostdev();
        } else if (edit instanceof DomainEdit.AddGuestNumaCell cell) {
            return "a new NUMA cell " + cell.id();
        } else if (edit instanceof DomainEdit.SetHostdevAcpiNodeset acpi) {
            return acpi.hostdev() + " Generic Initiator nodes " + acpi.nodeset();
        } else if (edit instanceof DomainEdit.SetFirmwareConfig fwCfg) {
            return "-fw_cfg " + fwCfg.name() + "=" + fwCfg.value();
        } else if (edit instanceof DomainEdit.SetPcieRootHole64 hole) {
            return "pcie-root pcihole64 " + hole.kib() + " KiB";
        } else if (edit instanceof DomainEdit.SetMachineProperty machine) {
            return "-machine " + machine.name() + "=" + machine.value();
        } else if (edit instanceof DomainEdit.MoveGuestDevice move) {
            return "the device at guest " + move.from() + " moved to " + move.to();
        } else if (edit instanceof DomainEdit.EnableRomBar rom) {
            return rom.hostdev() + " ROM BAR on";
        } else if (edit instanceof DomainEdit.DisableEmulatedVideo) {
            return "no emulated display";
        }
        return edit.subject();
    }
}
