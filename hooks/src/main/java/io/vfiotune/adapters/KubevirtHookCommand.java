package io.vfiotune.adapters;

import io.vfiotune.planning.Console;
import io.vfiotune.planning.FactsOptions;
import io.vfiotune.planning.Planning;
import io.vfiotune.xml.engine.PlanResult;
import io.vfiotune.xml.tree.SecureXmlReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * KubeVirt's sidecar hook {@code onDefineDomain}: the shim runs it with the VMI and the domain
 * XML as arguments (nothing on stdin), uses its stdout as the domain to define, and fails the
 * VMI's start on a non-zero exit. The annotations come from the VMI's {@code vfio-tune.io/tune}
 * annotation, else from the host policy; a domain neither annotates comes back byte for byte.
 */
@Command(name = "kubevirt-on-define-domain", description = "KubeVirt sidecar hook (installed as onDefineDomain): print the rewritten domain on stdout;"
        + " the <vt:tune> comes from the VMI's vfio-tune.io/tune annotation, else from the host policy. Exit 2 refuses the start, findings on stderr.")
public final class KubevirtHookCommand implements Callable<Integer> {
    @ParentCommand
    Console.Owner main;

    @Option(names = "--vmi", required = true, paramLabel = "JSON", description = "The VirtualMachineInstance, as JSON.")
    String vmi;

    @Option(names = "--domain", required = true, paramLabel = "XML", description = "The domain XML virt-launcher is about to define.")
    String domain;

    @Override
    public Integer call() {
        PlanResult result;
        try {
            byte[] input = domain.getBytes(StandardCharsets.UTF_8);
            SecureXmlReader.checkedText(input, "--domain");
            Optional<String> tune = KubevirtVmi.tuneAnnotation(vmi);
            // like the hook, configuration comes from the config file only: the shim passes no options
            result = Planning.plan(main.console(), new FactsOptions(), input, tune);
        } catch (io.vfiotune.xml.annotations.AnnotationBinder.AnnotationException e) {
            copyToShimLog(e.findings());
            throw e;
        } catch (io.vfiotune.spi.VfioTuneException e) {
            // a bad annotation, VMI or policy fails the start like a refusal: the container log must say why too
            copyToShimLog(java.util.List.of(e.finding()));
            throw e;
        }
        Planning.printFindings(main.console(), result);
        copyToShimLog(result.findings());
        if (result.exitStatus().code() != 0) {
            return result.exitStatus().code();
        }
        byte[] output = result.output().orElseThrow();
        main.console().out().write(output, 0, output.length);
        main.console().out().flush();
        return 0;
    }

    /**
     * The shim keeps this command's stderr to itself (Go's {@code exec.Cmd.Output}) and logs only
     * "exit status 2", so a refusal would reach no one. When the shim is the container's first
     * process, the findings also go to its stderr, which is the sidecar container's log
     * ({@code kubectl logs POD -c hook-sidecar-0}). Anywhere else nothing is copied.
     */
    private static void copyToShimLog(java.util.List<io.vfiotune.spi.Finding> findings) {
        java.nio.file.Path comm = java.nio.file.Path.of("/proc/1/comm");
        try {
            if (findings.isEmpty() || !java.nio.file.Files.readString(comm).strip().equals("sidecar-shim")) {
                return;
            }
            try (java.io.PrintStream log = new java.io.PrintStream(new java.io.FileOutputStream("/proc/1/fd/2", true), true, StandardCharsets.UTF_8)) {
                findings.forEach(finding -> log.println(finding.format()));
            }
        } catch (java.io.IOException | SecurityException e) {
            // not in a sidecar, or its log is not ours to write: the findings are on stderr as always
        }
    }
}
