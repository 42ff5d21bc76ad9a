package io.vfiotune.xml.transforms;

import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainTransform;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.GuestNumaCell;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.NvidiaGraceGpu;
import io.vfiotune.spi.PciFunction;
import io.vfiotune.spi.Severity;
import io.vfiotune.spi.TransformResult;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.spi.Version;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Grace Hopper and Grace Blackwell GPUs ({@code nvgrace-gpu-vfio-pci}): the guest
 * driver uses the GPU's memory only when the guest has eight memory-less NUMA
 * nodes per GPU, each tied to the GPU by an ACPI Generic Initiator. The nodes
 * are numbered after the guest's own cells, GPU by GPU in document order, so a
 * re-plan gives the same numbers. libvirt learnt this in 11.8 ({@code <cell
 * memory='0'>} and {@code <acpi nodeset>} in the hostdev); before that the nodes
 * and initiators go through {@code <qemu:commandline>}, which needs QEMU 9.0's
 * {@code acpi-generic-initiator}.
 */
public final class GraceTransform implements DomainTransform {
    /** One node per MIG instance the driver can make. */
    static final int NODES_PER_GPU = 8;
    static final Version LIBVIRT_ACPI_NODESET = new Version(11, 8, 0);
    static final Version QEMU_GENERIC_INITIATOR = new Version(9, 0, 0);

    @Override
    public String name() {
        return "grace";
    }

    @Override
    public int order() {
        return 80;
    }

    @Override
    public TransformResult plan(DomainView domain, HostTopology host) {
        if (domain.annotations().grace() == TuneAnnotations.GraceMode.OFF) {
            return TransformResult.EMPTY;
        }
        List<Finding> findings = new ArrayList<>();
        String subject = "domain " + domain.name();
        if (!domain.architecture().orElse("").equals("aarch64") || !domain.machine().map(machine -> machine.equals("virt") || machine.startsWith("virt-")).orElse(true)) {
            findings.add(Finding.error("GRACE-MACHINE", subject, "Grace GPUs pass through only to aarch64 guests on the virt machine (the nvgrace-gpu driver is arm64 only);"
                    + " this domain is " + domain.architecture().orElse("of no stated architecture") + " on '" + domain.machine().orElse("the default machine")
                    + "'; remove <vt:grace> or use arch='aarch64' machine='virt'"));
            return new TransformResult(List.of(), findings);
        }
        List<HostdevView> gpus = new ArrayList<>();
        for (HostdevView hostdev : domain.pciHostdevs()) {
            Optional<PciFunction> function = PassthroughDevices.resolve(hostdev, host, "whether it is a Grace GPU", PassthroughDevices.Needs.HEADER, findings);
            Optional<NvidiaGraceGpu> grace = function.flatMap(NvidiaGraceGpu::of);
            if (grace.isPresent()) {
                gpus.add(hostdev);
                findings.addAll(grace.get().findings());
                if (hostdev.managed() && grace.get().binding() == NvidiaGraceGpu.Binding.NVGRACE) {
                    findings.add(Finding.warning("GRACE-PLAIN-VFIO", hostdev.source().toString(), "managed='yes' makes libvirt rebind it to plain vfio-pci at start,"
                            + " which has none of the GPU memory BARs the guest driver needs; keep it on " + NvidiaGraceGpu.NVGRACE_DRIVER + " and use managed='no'"));
                }
            }
        }
        if (findings.stream().anyMatch(finding -> finding.severity() == Severity.ERROR)) {
            return new TransformResult(List.of(), findings);
        }
        if (gpus.isEmpty()) {
            findings.add(Finding.info("GRACE-NONE", subject, "no hostdev is a Grace GPU (10de:2342, 2345, 2348, 2941, 31c2), so no nodes are added"));
            return new TransformResult(List.of(), findings);
        }
        Version libvirt = host.facts().libvirtVersion();
        Version qemu = host.facts().qemuVersion(domain.emulator());
        boolean libvirtForm = libvirt.compareTo(LIBVIRT_ACPI_NODESET) >= 0;
        if (!libvirtForm && qemu.compareTo(QEMU_GENERIC_INITIATOR) < 0) {
            findings.add(Finding.error("GRACE-QEMU-TOO-OLD", subject, "the Grace GPUs need ACPI Generic Initiator nodes: libvirt " + libvirt
                    + " cannot write them (11.8 can) and QEMU " + qemu + " has no acpi-generic-initiator (9.0 has); upgrade QEMU to 9.0 or libvirt and QEMU to 11.8 and 9.0"));
            return new TransformResult(List.of(), findings);
        }
        // Cells the hostdevs' <acpi nodeset> name are vfio-tune's (or the user's) Generic Initiator nodes, not the guest's own.
        Set<Integer> initiatorCells = new TreeSet<>();
        for (HostdevView gpu : gpus) {
            domain.acpiNodeset(gpu.source()).ifPresent(nodeset -> initiatorCells.addAll(parseNodeset(nodeset)));
        }
        List<GuestNumaCell> own = domain.numaCellDetails().stream().filter(cell -> !initiatorCells.contains(cell.id())).toList();
        if (own.isEmpty()) {
            findings.add(Finding.error("GRACE-CELLS", subject, "the guest defines no NUMA cell of its own; the Grace nodes are added after the guest's cells,"
                    + " which must hold its CPUs and memory: define <cpu><numa><cell id='0' cpus='...' memory='...'/></numa></cpu>"));
            return new TransformResult(List.of(), findings);
        }
        for (GuestNumaCell cell : own) {
            if (!cell.hasCpus() || cell.memoryKiB() == 0) {
                findings.add(Finding.error("GRACE-CELLS", "guest cell " + cell.id(), "the guest's own cells must have CPUs and memory (only the Grace nodes have neither);"
                        + " this one has " + (cell.hasCpus() ? "no memory" : cell.memoryKiB() == 0 ? "neither" : "no CPUs")));
            }
        }
        if (findings.stream().anyMatch(finding -> finding.severity() == Severity.ERROR)) {
            return new TransformResult(List.of(), findings);
        }
        int next = own.stream().mapToInt(GuestNumaCell::id).max().orElseThrow() + 1;
        List<DomainEdit> edits = new ArrayList<>();
        for (HostdevView gpu : gpus) {
            List<Integer> nodes = IntStream.range(next, next + NODES_PER_GPU).boxed().toList();
            next += NODES_PER_GPU;
            String nodeset = nodes.get(0) + "-" + nodes.get(nodes.size() - 1);
            if (libvirtForm) {
                Optional<String> written = domain.acpiNodeset(gpu.source());
                if (written.isPresent() && !written.get().equals(nodeset)) {
                    findings.add(Finding.error("GRACE-NODES", gpu.source().toString(), "the hostdev's <acpi nodeset='" + written.get() + "'> is not the " + nodeset
                            + " this plan gives it (after the guest's cells and the GPUs before it); remove the <acpi> element and its memory-less cells to re-plan"));
                    continue;
                }
                nodes.forEach(node -> edits.add(new DomainEdit.AddGuestNumaCell(node)));
                edits.add(new DomainEdit.SetHostdevAcpiNodeset(gpu.source(), nodeset));
            } else {
                edits.add(new DomainEdit.AddGenericInitiators(gpu.source(), nodes));
            }
            findings.add(Finding.info("GRACE-NODES", gpu.source().toString(), "guest NUMA nodes " + nodeset + ", memory-less, tied to the GPU by ACPI Generic Initiators"
                    + (libvirtForm ? " (<cell memory='0'> and <acpi nodeset>, libvirt " + libvirt + ")"
                            : " (-numa and -object acpi-generic-initiator in <qemu:commandline>: libvirt " + libvirt + " predates 11.8)")));
        }
        if (findings.stream().anyMatch(finding -> finding.severity() == Severity.ERROR)) {
            return new TransformResult(List.of(), findings);
        }
        return new TransformResult(edits, findings);
    }

    private static List<Integer> parseNodeset(String nodeset) {
        List<Integer> nodes = new ArrayList<>();
        for (String part : nodeset.split(",")) {
            String[] range = part.trim().split("-");
            try {
                int first = Integer.parseInt(range[0].trim());
                int last = range.length > 1 ? Integer.parseInt(range[1].trim()) : first;
                for (int node = first; node <= last && node - first < 1024; node++) {
                    nodes.add(node);
                }
            } catch (NumberFormatException e) {
                // libvirt refuses it itself
            }
        }
        return nodes;
    }

}
