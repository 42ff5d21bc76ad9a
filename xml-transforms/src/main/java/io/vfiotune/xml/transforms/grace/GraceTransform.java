package io.vfiotune.xml.transforms.grace;

import io.vfiotune.pci.PciFunction;
import io.vfiotune.platform.NvidiaGraceGpu;
import io.vfiotune.spi.DomainEdit;
import io.vfiotune.spi.DomainTransform;
import io.vfiotune.spi.DomainView;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.GuestNumaCell;
import io.vfiotune.spi.HostTopology;
import io.vfiotune.spi.HostdevView;
import io.vfiotune.spi.NodeSet;
import io.vfiotune.spi.Severity;
import io.vfiotune.spi.TransformResult;
import io.vfiotune.spi.TuneAnnotations;
import io.vfiotune.spi.Version;
import io.vfiotune.xml.transforms.layout.PassthroughDevices;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
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
    /** QEMU's MAX_NODES. */
    static final int QEMU_MAX_NODES = 128;

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
        List<GraceMmioWindow.Passthrough> passthrough = new ArrayList<>();
        for (HostdevView hostdev : domain.pciHostdevs()) {
            Optional<PciFunction> function = PassthroughDevices.resolve(hostdev, host, "whether it is a Grace GPU", PassthroughDevices.Needs.HEADER, findings);
            Optional<NvidiaGraceGpu> grace = function.flatMap(NvidiaGraceGpu::of).map(gpu -> gpu.withDeclaredMemory(host.facts().graceDeviceMemory()));
            function.ifPresent(found -> passthrough.add(new GraceMmioWindow.Passthrough(found, grace)));
            if (grace.isPresent()) {
                gpus.add(hostdev);
                findings.addAll(grace.get().findings());
                if (hostdev.managed() && grace.get().binding() == NvidiaGraceGpu.Binding.NVGRACE) {
                    findings.add(Finding.warning("GRACE-PLAIN-VFIO", hostdev.source().toString(), "managed='yes' makes libvirt rebind it at start, to plain vfio-pci"
                            + " unless libvirt picks the variant driver itself, and plain vfio-pci has none of the GPU memory BARs the guest driver needs;"
                            + " keep it on " + NvidiaGraceGpu.NVGRACE_DRIVER + " and use managed='no'"));
                }
            }
        }
        if (findings.stream().anyMatch(finding -> finding.severity() == Severity.ERROR)) {
            return new TransformResult(List.of(), findings);
        }
        if (gpus.isEmpty()) {
            List<Integer> empty = domain.numaCellDetails().stream().filter(cell -> !cell.hasCpus() && cell.memoryKiB() == 0).map(GuestNumaCell::id).toList();
            if (!empty.isEmpty()) {
                findings.add(Finding.warning("GRACE-CELLS", subject, "no hostdev is a Grace GPU, and guest cells " + empty + " have neither CPUs nor memory:"
                        + " the nodes of a GPU that is no longer passed through? delete them"));
            }
            findings.add(Finding.info("GRACE-NONE", subject, "no hostdev is a Grace GPU (10de:2342, 2345, 2348, 2941, 31c2), so no nodes are added"));
            return new TransformResult(List.of(), findings);
        }
        Version libvirt = host.facts().libvirtVersion();
        Version qemu = host.facts().qemuVersion(domain.emulator());
        boolean libvirtForm = libvirt.compareTo(LIBVIRT_ACPI_NODESET) >= 0;
        if (qemu.compareTo(QEMU_GENERIC_INITIATOR) < 0) {
            findings.add(Finding.error("GRACE-QEMU-TOO-OLD", subject, "the Grace GPUs need ACPI Generic Initiator nodes, and QEMU " + qemu
                    + " has no acpi-generic-initiator (9.0 has)" + (libvirtForm ? "" : "; libvirt " + libvirt + " cannot write the nodes itself either (11.8 can)")
                    + "; upgrade QEMU to 9.0 or later"));
            return new TransformResult(List.of(), findings);
        }
        // The user's own -numa nodes and initiators (vfio-tune's were taken back before planning).
        List<String> arguments = domain.qemuCommandlineArguments();
        Set<Integer> commandlineNodes = new TreeSet<>();
        Set<String> initiatorDevices = new TreeSet<>();
        for (int i = 1; i < arguments.size(); i++) {
            String option = arguments.get(i - 1);
            String value = arguments.get(i);
            if (option.equals("-numa")) {
                optionValue(value, "nodeid").flatMap(GraceTransform::number).ifPresent(commandlineNodes::add);
            } else if (option.equals("-object") && value.startsWith("acpi-generic-initiator,")) {
                optionValue(value, "pci-dev").ifPresent(initiatorDevices::add);
            }
        }
        // Cells the hostdevs' <acpi nodeset> name are Generic Initiator nodes (libvirt 11.8's form), not the guest's own.
        Map<Integer, GuestNumaCell> cells = new TreeMap<>();
        domain.numaCellDetails().forEach(cell -> cells.put(cell.id(), cell));
        Set<Integer> initiatorCells = new TreeSet<>();
        for (HostdevView gpu : gpus) {
            Optional<String> nodeset = domain.acpiNodeset(gpu.source());
            if (nodeset.isEmpty()) {
                continue;
            }
            if (!libvirtForm) {
                findings.add(Finding.error("GRACE-NODES", gpu.source().toString(), "the hostdev has libvirt 11.8's <acpi nodeset='" + nodeset.get() + "'>, which libvirt "
                        + libvirt + " does not read (it would drop it, and render its memory='0' cells as backends QEMU refuses); remove the <acpi> element and those cells,"
                        + " and vfio-tune plans the nodes through <qemu:commandline>"));
                continue;
            }
            // Only cells the guest defines matter: a nodeset naming others libvirt refuses itself.
            NodeSet named = new NodeSet(nodeset.get());
            for (GuestNumaCell cell : cells.values()) {
                if (!named.contains(cell.id())) {
                    continue;
                }
                if (cell.hasCpus() || cell.memoryKiB() > 0) {
                    findings.add(Finding.error("GRACE-NODES", gpu.source().toString(), "its <acpi nodeset='" + nodeset.get() + "'> names guest cell " + cell.id()
                            + ", which has " + (cell.hasCpus() ? "CPUs" : "memory") + "; a Generic Initiator node has neither: remove the <acpi> element and let vfio-tune plan the nodes"));
                }
                initiatorCells.add(cell.id());
            }
        }
        if (findings.stream().anyMatch(finding -> finding.severity() == Severity.ERROR)) {
            return new TransformResult(List.of(), findings);
        }
        List<GuestNumaCell> own = cells.values().stream().filter(cell -> !initiatorCells.contains(cell.id())).toList();
        List<Integer> leftovers = own.stream().filter(cell -> !cell.hasCpus() && cell.memoryKiB() == 0).map(GuestNumaCell::id).toList();
        if (!leftovers.isEmpty()) {
            findings.add(Finding.error("GRACE-CELLS", subject, "guest cells " + leftovers + " have neither CPUs nor memory, and no Grace GPU's <acpi nodeset> names them:"
                    + " the nodes of a GPU that is no longer passed through? delete those cells (a guest's own cells hold its CPUs and memory)"));
            return new TransformResult(List.of(), findings);
        }
        if (own.isEmpty()) {
            findings.add(Finding.error("GRACE-CELLS", subject, "the guest defines no NUMA cell of its own; the Grace nodes are added after the guest's cells,"
                    + " which must hold its CPUs and memory: define <cpu><numa><cell id='0' cpus='...' memory='...'/></numa></cpu>"));
            return new TransformResult(List.of(), findings);
        }
        for (GuestNumaCell cell : own) {
            if (!cell.hasCpus() || cell.memoryKiB() == 0) {
                findings.add(Finding.error("GRACE-CELLS", "guest cell " + cell.id(), "the guest's own cells must have CPUs and memory (only the Grace nodes have neither);"
                        + " this one has " + (cell.hasCpus() ? "no memory" : "no CPUs")));
            }
        }
        if (findings.stream().anyMatch(finding -> finding.severity() == Severity.ERROR)) {
            return new TransformResult(List.of(), findings);
        }
        int next = Math.max(own.stream().mapToInt(GuestNumaCell::id).max().orElseThrow(), commandlineNodes.stream().mapToInt(Integer::intValue).max().orElse(-1)) + 1;
        List<DomainEdit> edits = new ArrayList<>();
        for (HostdevView gpu : gpus) {
            if (!libvirtForm && gpu.alias().filter(initiatorDevices::contains).isPresent()) {
                // What the user wrote wins: their nodes and initiators for this GPU stay, and vfio-tune adds none.
                findings.add(Finding.info("GRACE-USER-NODES", gpu.source().toString(), "the definition's <qemu:commandline> already ties this GPU ('" + gpu.alias().get()
                        + "') to nodes with acpi-generic-initiator; kept as written"));
                continue;
            }
            List<Integer> nodes = IntStream.range(next, next + NODES_PER_GPU).boxed().toList();
            next += NODES_PER_GPU;
            if (nodes.get(nodes.size() - 1) >= QEMU_MAX_NODES) {
                findings.add(Finding.error("GRACE-NODES", gpu.source().toString(), "its nodes would end at " + nodes.get(nodes.size() - 1) + ", and QEMU takes NUMA nodes 0-"
                        + (QEMU_MAX_NODES - 1) + "; pass fewer Grace GPUs through, or give the guest fewer cells of its own"));
                return new TransformResult(List.of(), findings);
            }
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
        GraceMmioWindow.plan(domain, passthrough, libvirt, qemu, edits, findings);
        if (findings.stream().anyMatch(finding -> finding.severity() == Severity.ERROR)) {
            return new TransformResult(List.of(), findings);
        }
        return new TransformResult(edits, findings);
    }

    /** {@code key=value} out of a QEMU option string such as {@code node,nodeid=3}. */
    private static Optional<String> optionValue(String options, String key) {
        for (String part : options.split(",")) {
            if (part.startsWith(key + "=")) {
                return Optional.of(part.substring(key.length() + 1));
            }
        }
        return Optional.empty();
    }

    private static Optional<Integer> number(String text) {
        try {
            return Optional.of(Integer.parseInt(text.trim()));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

}
