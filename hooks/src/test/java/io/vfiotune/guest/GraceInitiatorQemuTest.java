package io.vfiotune.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.Libvirt;
import io.vfiotune.stack.Stack;
import io.vfiotune.stack.Stacks;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;


/**
 * The Grace Hopper form for libvirt &lt; 11.8: memory-less NUMA nodes ({@code -numa node,nodeid=N})
 * and one {@code acpi-generic-initiator} object per node, naming the GPU by its user alias, all
 * through {@code <qemu:commandline>}. Judged by the real QEMU 10.0 of the Debian 13 stack: the
 * domain's GPU hostdev becomes a virtio-rng stand-in under the same alias ({@link GuestDomain}),
 * libvirt 11.3 renders it ({@code domxml-to-native}), and that very command line runs with
 * {@code -S} and a QMP monitor on stdin, which asks for the run state and quits. QEMU checks
 * every initiator when it builds the ACPI tables (machine creation, before the pause), so a
 * {@code prelaunch} answer means it took them, and a wrong node or a pci-dev that is no PCI
 * device must stop it with its own message. The stand-in guest also boots (AAVMF, ACPI) and
 * reports the NUMA nodes its kernel made of the SRAT.
 * <p>
 * The domain is {@code -Dvfio-tune.grace.domain=PATH} (relative to the checkout), by default
 * vfio-tune's own golden output {@value #DEFAULT_DOMAIN}. Expectations come from the domain's
 * own {@code <qemu:commandline>} and NUMA cells, never from QEMU or the guest.
 */
class GraceInitiatorQemuTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    static final String DOMAIN_PROPERTY = "vfio-tune.grace.domain";
    static final String DEFAULT_DOMAIN = "src/golden/grace-gh200-one-qemu90/expected.xml";
    /** Sent on QEMU's stdin: QEMU reads it only from its main loop, that is once the machine is built. */
    private static final List<String> QMP = List.of("{\"execute\":\"qmp_capabilities\"}", "{\"execute\":\"query-status\"}", "{\"execute\":\"quit\"}");
    private static final Pattern NUMA_NODE = Pattern.compile("node,nodeid=(\\d+)(,.*)?");
    private static final Pattern INITIATOR = Pattern.compile("acpi-generic-initiator,(.*)");
    /** AAVMF under TCG takes most of the boot; 120 s was not always enough on a loaded 2-core machine. */
    private static final Duration BOOT_LIMIT = BootedGuest.TIME_LIMIT.multipliedBy(2);

    /** One {@code -object acpi-generic-initiator,id=...,pci-dev=...,node=...} of the domain. */
    record Initiator(String id, String pciDev, int node) {
    }

    /** What the domain's {@code <qemu:commandline>} adds: the extra nodes (with their options) and the initiators. */
    record Form(Map<Integer, String> extraNodes, List<Initiator> initiators) {
        TreeSet<Integer> initiatorNodes() {
            return initiators.stream().map(Initiator::node).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    /** One QEMU run: the command line as run, its exit status and output. */
    record Run(List<String> command, Libvirt.Result result) {
        boolean paused() {
            return result.ok() && result.stdout().contains("\"status\": \"prelaunch\"");
        }

        String render() {
            StringBuilder line = new StringBuilder("$");
            for (String word : command) {
                line.append(word.startsWith("-") && line.length() > 1 ? " \\\n    " : " ").append(shellQuote(word));
            }
            return line + "\nexit " + result.status() + "\n--- stdout ---\n"
                    + result.stdout().strip() + "\n--- stderr ---\n" + result.stderr().strip() + "\n";
        }
    }

    static Path domainFile() {
        return ROOT.resolve(System.getProperty(DOMAIN_PROPERTY, DEFAULT_DOMAIN)).normalize();
    }

    static String plan() throws IOException {
        return Files.readString(domainFile());
    }

    /**
     * The stacks whose QEMU has acpi-generic-initiator (9.0 and later: Debian 13's 10.0 and the
     * backports' 11.1), for the booted guests; a run that selects none of them skips.
     */
    static Stream<Stack> initiatorStacks() {
        List<Stack> stacks = Stacks.all().stream().filter(stack -> stack.qemuVersion().atLeast(9, 0)).toList();
        Assumptions.assumeTrue(!stacks.isEmpty(), "no stack of -D" + Stacks.SELECTION_PROPERTY + " has a QEMU with acpi-generic-initiator (9.0)");
        return stacks.stream();
    }

    /** The Debian 13 stack (QEMU 10.0), unless this run leaves it out on request. */
    static Stack debian13() {
        Optional<Stack> stack = Stacks.all().stream().filter(s -> s.distribution().equals("Debian 13")).findFirst();
        Assumptions.assumeTrue(stack.isPresent(), "Debian 13 is not among -D" + Stacks.SELECTION_PROPERTY + "; only its QEMU 10.0 has acpi-generic-initiator");
        return stack.get();
    }

    @Test
    void initiatorObjectExistsInQemu100AndNotIn72() {
        for (Stack stack : Stacks.all()) {
            Libvirt.Result help = stack.run(List.of("/usr/bin/qemu-system-aarch64", "-object", "acpi-generic-initiator,help"), 60);
            System.out.println(stack + ": qemu-system-aarch64 -object acpi-generic-initiator,help -> exit " + help.status() + "\n" + help.stdout() + help.stderr());
            if (stack.qemuVersion().atLeast(9, 0)) {
                assertTrue(help.ok(), stack + ": " + help);
                assertTrue(help.stdout().contains("node=<int>") && help.stdout().contains("pci-dev=<string>"), stack + " lists node and pci-dev: " + help.stdout());
            } else {
                assertFalse(help.ok(), stack + ": QEMU " + stack.qemuVersion() + " predates acpi-generic-initiator (9.0): " + help);
                assertTrue(help.stderr().contains("does not accept value 'acpi-generic-initiator'"), stack + ": " + help.stderr());
            }
        }
    }

    /** The domain as written: QEMU 10.0 builds the machine with every initiator and pauses. */
    @Test
    void qemu100StartsPausedWithTheInitiators() throws IOException {
        Stack stack = debian13();
        String plan = plan();
        Form form = form(plan);
        assertFalse(form.initiators().isEmpty(), domainFile() + " has no acpi-generic-initiator in its <qemu:commandline>");
        for (Map.Entry<Integer, String> node : form.extraNodes().entrySet()) {
            assertEquals("", node.getValue(), "node " + node.getKey() + " of the <qemu:commandline> is memory-less and CPU-less");
        }
        assertEquals(form.extraNodes().keySet(), form.initiatorNodes(), "one initiator per extra node and an extra node for each initiator");

        GuestDomain domain = GuestDomain.fromPlan(plan);
        for (Initiator initiator : form.initiators()) {
            assertTrue(domain.standIns().stream().anyMatch(standIn -> standIn.alias().equals(Optional.of(initiator.pciDev()))),
                    initiator + ": pci-dev must name a PCI hostdev's alias, which its stand-in keeps; stand-ins: " + domain.standIns());
        }
        Run run = start(stack, domain);
        System.out.println(stack + ": the domain's command line, paused:\n" + run.render());
        List<String> argv = run.command();
        for (Initiator initiator : form.initiators()) {
            assertTrue(argv.stream().anyMatch(argument -> argument.startsWith("{\"driver\":\"virtio-rng-pci\"") && argument.contains("\"id\":\"" + initiator.pciDev() + "\"")),
                    "the stand-in is a PCI device with id " + initiator.pciDev() + ": " + argv);
            assertTrue(argv.contains("acpi-generic-initiator,id=" + initiator.id() + ",pci-dev=" + initiator.pciDev() + ",node=" + initiator.node()), initiator + " passed through: " + argv);
        }
        assertTrue(run.paused(), stack + ": QEMU did not reach the paused state:\n" + run.render());
        assertFalse(run.result().stderr().contains("acpi-generic-initiator"), run.render());
    }

    /** An initiator naming a node the guest does not have: QEMU 10.0 refuses to build the machine. */
    @Test
    void qemu100RefusesAnUndefinedNode() throws IOException {
        Stack stack = debian13();
        String plan = plan();
        Form form = form(plan);
        Initiator first = form.initiators().get(0);
        int wrong = 42;
        assertFalse(form.extraNodes().containsKey(wrong) || cellIds(plan).contains(wrong), "node " + wrong + " must be undefined in " + domainFile());
        // the <qemu:arg> itself, not vfio-tune's record of it in <vt:generated>
        String broken = replaceOnce(plan, argument(first, first.pciDev(), first.node()), argument(first, first.pciDev(), wrong));
        Run run = start(stack, GuestDomain.fromPlan(broken));
        System.out.println(stack + ": initiator " + first.id() + " moved to node " + wrong + ":\n" + run.render());
        assertNotEquals(0, run.result().status(), run.render());
        assertFalse(run.paused(), run.render());
        assertTrue(run.result().stderr().contains("acpi-generic-initiator: Specified node " + wrong + " is invalid."), run.render());
    }

    /**
     * An initiator whose pci-dev is a device but no PCI one (a virtio-mmio virtio-rng), or names
     * no device at all (a stale alias): both refused.
     */
    @Test
    void qemu100RefusesAPciDevThatIsNoPciDevice() throws IOException {
        Stack stack = debian13();
        String plan = plan();
        Initiator first = form(plan).initiators().get(0);
        String mmio = replaceOnce(plan, "</devices>",
                "  <rng model='virtio'>\n      <backend model='builtin'/>\n      <alias name='ua-vt-not-pci'/>\n      <address type='virtio-mmio'/>\n    </rng>\n  </devices>");
        for (String target : List.of("ua-vt-not-pci", "ua-vt-no-such-device")) {
            String broken = replaceOnce(mmio, argument(first, first.pciDev(), first.node()), argument(first, target, first.node()));
            Run run = start(stack, GuestDomain.fromPlan(broken));
            System.out.println(stack + ": initiator " + first.id() + " pointed at " + target + ":\n" + run.render());
            if (target.equals("ua-vt-not-pci")) {
                assertTrue(run.command().stream().anyMatch(argument -> argument.startsWith("{\"driver\":\"virtio-rng-device\"") && argument.contains("\"id\":\"ua-vt-not-pci\"")),
                        "a virtio-mmio device with that id: " + run.command());
            }
            assertNotEquals(0, run.result().status(), run.render());
            assertFalse(run.paused(), run.render());
            assertTrue(run.result().stderr().contains("acpi-generic-initiator: Specified device must be a PCI device."), run.render());
        }
    }

    /**
     * libvirt 9.0 (Debian 12) passes the {@code <qemu:commandline>} form through unchanged; its
     * QEMU 7.2 then stops at the first initiator, as it has no such object.
     */
    @Test
    void libvirt90PassesTheFormThroughAndQemu72HasNoInitiator() throws IOException {
        Optional<Stack> debian12 = Stacks.all().stream().filter(s -> s.distribution().equals("Debian 12")).findFirst();
        Assumptions.assumeTrue(debian12.isPresent(), "Debian 12 is not among -D" + Stacks.SELECTION_PROPERTY);
        Stack stack = debian12.get();
        String plan = plan();
        Form form = form(plan);
        Run run = start(stack, GuestDomain.fromPlan(plan));
        System.out.println(stack + ": the domain's command line:\n" + run.render());
        for (Initiator initiator : form.initiators()) {
            assertTrue(run.command().contains("acpi-generic-initiator,id=" + initiator.id() + ",pci-dev=" + initiator.pciDev() + ",node=" + initiator.node()),
                    "libvirt " + stack.libvirtVersion() + " passes " + initiator + " through: " + run.command());
        }
        for (int node : form.extraNodes().keySet()) {
            assertTrue(run.command().contains("node,nodeid=" + node), "libvirt " + stack.libvirtVersion() + " passes node " + node + " through");
        }
        assertNotEquals(0, run.result().status(), run.render());
        assertTrue(run.result().stderr().contains("Parameter 'qom-type' does not accept value 'acpi-generic-initiator'"), run.render());
    }

    /**
     * The libvirt 11.8 form on libvirt 11.3: {@code <cell memory='0'>} is in 11.3's schema but
     * becomes a zero-sized {@code memory-backend-ram}, which QEMU 10.0 refuses; {@code <acpi nodeset>}
     * inside {@code <hostdev>} is not in the schema, and {@code domxml-to-native} drops it silently.
     * So before 11.8 the {@code <qemu:commandline>} form is the only one.
     */
    @Test
    void libvirt113HasNoNativeForm() throws IOException {
        Stack stack = debian13();
        String plan = plan();
        Form form = form(plan);
        String nodeset = compress(form.initiatorNodes());
        Document document = GuestDomain.parse(plan);
        Element domain = document.getDocumentElement();
        for (Element commandline : GuestDomain.children(domain, "commandline")) {
            domain.removeChild(commandline);
        }
        Element cpu = GuestDomain.child(domain, "cpu").orElseThrow();
        // As GuestDomain does: libvirt refuses host-passthrough for an aarch64 TCG guest on this x86_64 machine.
        cpu.setAttribute("mode", "maximum");
        cpu.removeAttribute("check");
        Element numa = GuestDomain.child(cpu, "numa").orElseThrow();
        for (int node : form.initiatorNodes()) {
            Element cell = document.createElementNS(null, "cell");
            cell.setAttribute("id", Integer.toString(node));
            cell.setAttribute("memory", "0");
            cell.setAttribute("unit", "KiB");
            numa.appendChild(cell);
        }
        String cells = serialize(document);
        Element devices = GuestDomain.child(domain, "devices").orElseThrow();
        Element hostdev = GuestDomain.children(devices, "hostdev").stream()
                .filter(h -> GuestDomain.child(h, "alias").map(a -> a.getAttribute("name")).equals(Optional.of(form.initiators().get(0).pciDev()))).findFirst().orElseThrow();
        Element acpi = document.createElementNS(null, "acpi");
        acpi.setAttribute("nodeset", nodeset);
        hostdev.insertBefore(acpi, GuestDomain.child(hostdev, "address").orElse(null));
        String withAcpi = serialize(document);

        Path stagedCells = stack.stage("cells.xml", cells.getBytes(StandardCharsets.UTF_8));
        Path stagedAcpi = stack.stage("acpi.xml", withAcpi.getBytes(StandardCharsets.UTF_8));
        try {
            Libvirt.Result cellsValid = stack.validate(stagedCells);
            Libvirt.Result acpiValid = stack.validate(stagedAcpi);
            Libvirt.Result acpiNative = stack.domxmlToNative(stagedAcpi);
            System.out.println(stack + ": memory='0' cells: virt-xml-validate exit " + cellsValid.status() + " " + (cellsValid.stdout() + cellsValid.stderr()).strip());
            System.out.println(stack + ": <acpi nodeset='" + nodeset + "'/> in <hostdev>: virt-xml-validate exit " + acpiValid.status() + "\n" + (acpiValid.stdout() + acpiValid.stderr()).strip());
            System.out.println(stack + ": <acpi nodeset> in <hostdev>: domxml-to-native exit " + acpiNative.status() + ", vfio-pci device: "
                    + words(acpiNative.stdout()).stream().filter(word -> word.contains("vfio-pci")).toList() + ", acpi-generic-initiator in argv: "
                    + acpiNative.stdout().contains("acpi-generic-initiator"));
            assertEquals(0, cellsValid.status(), "libvirt " + stack.libvirtVersion() + "'s schema has memory='0' cells: " + cellsValid);
            assertNotEquals(0, acpiValid.status(), "libvirt " + stack.libvirtVersion() + "'s schema has no <acpi> in <hostdev> (11.8 adds it): " + acpiValid);
            assertTrue(acpiValid.stderr().contains("Extra element devices in interleave"), acpiValid.stderr());
            assertTrue(acpiNative.ok(), acpiNative.stderr());
            assertFalse(acpiNative.stdout().contains("acpi-generic-initiator"), "libvirt " + stack.libvirtVersion() + " makes no initiator of <acpi nodeset>");
        } finally {
            Files.deleteIfExists(stagedCells);
            Files.deleteIfExists(stagedAcpi);
        }

        Run run = start(stack, GuestDomain.fromPlan(cells));
        System.out.println(stack + ": memory='0' cells as libvirt " + stack.libvirtVersion() + " renders them:\n" + run.render());
        for (int node : form.initiatorNodes()) {
            assertTrue(run.command().contains("{\"qom-type\":\"memory-backend-ram\",\"id\":\"ram-node" + node + "\",\"size\":0}"), "a zero-sized backend for node " + node + ": " + run.command());
        }
        assertNotEquals(0, run.result().status(), run.render());
        assertTrue(run.result().stderr().contains("property 'size' of memory-backend-ram doesn't take value '0'"), run.render());
    }

    /**
     * The stand-in guest boots through AAVMF with ACPI on QEMU 10.0 and 11.1, and its kernel (Debian 12's
     * arm64 6.1) reads the SRAT: every node of the domain is possible, the initiator nodes are the
     * kernel's generic-initiator nodes, without memory and without CPUs, and the cells keep theirs.
     * On arm64 the kernel brings every node of the SRAT online (drivers/base/arch_numa.c
     * numa_register_nodes: node_set_online for each parsed node, memory or not), so they are
     * online too; x86 would leave memory-less CPU-less nodes offline.
     */
    @ParameterizedTest(name = "on {0}")
    @MethodSource("initiatorStacks")
    void bootedGuestHasTheMemorylessInitiatorNodes(Stack stack) throws IOException {
        String plan = plan();
        Form form = form(plan);
        TreeSet<Integer> cells = cellIds(plan);
        TreeSet<Integer> all = new TreeSet<>(cells);
        all.addAll(form.extraNodes().keySet());
        GuestDomain domain = GuestDomain.fromPlan(plan);
        assertTrue(domain.keepsFirmware(), "an aarch64 guest with ACPI boots through its UEFI loader");

        BootedGuest.Boot boot = BootedGuest.boot(stack, domain, BOOT_LIMIT, initWithNodeDetails());
        GuestReport report = boot.report();
        Map<String, String> states = nodeStates(boot.consoleLog());
        System.out.println(stack + ": guest " + boot.domainName() + " booted in " + boot.elapsed().toMillis() + " ms\n" + report.render()
                + boot.consoleLog().replace("\r", "").lines().filter(line -> line.startsWith("nodestate ") || line.startsWith("node ") || line.startsWith("numalog "))
                        .collect(Collectors.joining("\n")));
        assertEquals("efi", report.firmware(), "the guest booted through AAVMF");
        assertEquals(compress(all), report.nodesPossible(), "every cell and every initiator node is possible");
        assertEquals(compress(all), report.nodesOnline(), "arm64 brings every SRAT node online");
        assertEquals(compress(form.initiatorNodes()), states.get("has_generic_initiator"), "the initiator nodes are generic-initiator nodes");
        assertEquals(compress(cells), states.get("has_memory"), "only the cells have memory");
        assertEquals(compress(cells), states.get("has_cpu"), "only the cells have CPUs");
        for (int node : form.initiatorNodes()) {
            assertEquals("cpulist= memtotal_kb=0", states.get("node" + node), "node " + node + " has neither CPUs nor memory");
        }
        for (Initiator initiator : form.initiators()) {
            StandIn standIn = boot.standIns().stream().filter(s -> s.alias().equals(Optional.of(initiator.pciDev()))).findFirst().orElseThrow();
            assertTrue(report.devices().stream().anyMatch(device -> device.vendor().equals("0x1af4") && device.device().equals("0x1044")),
                    "the stand-in " + standIn + " is in the guest: " + report.render());
        }
    }

    /**
     * The control: the same guest without its initiator objects (the memory-less {@code -numa}
     * nodes stay) has none of those nodes, because QEMU's SRAT names a node only through memory,
     * a CPU or a Generic Initiator. So the nodes of {@link #bootedGuestHasTheMemorylessInitiatorNodes}
     * are the initiators' doing.
     */
    @Test
    void bootedGuestWithoutTheInitiatorsHasOnlyTheCells() throws IOException {
        Stack stack = debian13();
        String plan = plan();
        TreeSet<Integer> cells = cellIds(plan);
        Document document = GuestDomain.parse(plan);
        int removed = 0;
        for (Element commandline : GuestDomain.children(document.getDocumentElement(), "commandline")) {
            List<Element> arguments = GuestDomain.children(commandline, "arg");
            for (int i = 0; i + 1 < arguments.size(); i++) {
                if (arguments.get(i).getAttribute("value").equals("-object") && arguments.get(i + 1).getAttribute("value").startsWith("acpi-generic-initiator,")) {
                    commandline.removeChild(arguments.get(i));
                    commandline.removeChild(arguments.get(i + 1));
                    removed++;
                    i++;
                }
            }
        }
        assertEquals(form(plan).initiators().size(), removed);
        String withoutInitiators = serialize(document);
        assertTrue(form(withoutInitiators).initiators().isEmpty() && !form(withoutInitiators).extraNodes().isEmpty(), withoutInitiators);

        BootedGuest.Boot boot = BootedGuest.boot(stack, GuestDomain.fromPlan(withoutInitiators), BOOT_LIMIT, initWithNodeDetails());
        Map<String, String> states = nodeStates(boot.consoleLog());
        System.out.println(stack + ": without the initiators, guest " + boot.domainName() + ": nodes online " + boot.report().nodesOnline() + ", possible "
                + boot.report().nodesPossible() + ", " + states);
        assertEquals(compress(cells), boot.report().nodesPossible(), "without initiators the memory-less nodes are nowhere in the SRAT");
        assertEquals(compress(cells), boot.report().nodesOnline());
        assertEquals("", states.get("has_generic_initiator"), "no generic-initiator node");
    }

    /** GuestInit's report plus the kernel's node states, each node's CPUs and memory, and its NUMA messages. */
    private static byte[] initWithNodeDetails() {
        String script = new String(GuestInit.script(), StandardCharsets.UTF_8);
        String nodesLine = "echo \"nodes online=$(value /sys/devices/system/node/online) possible=$(value /sys/devices/system/node/possible)\"\n";
        String extra = nodesLine
                + "echo \"nodestate has_cpu=$(value /sys/devices/system/node/has_cpu) has_memory=$(value /sys/devices/system/node/has_memory)"
                + " has_normal_memory=$(value /sys/devices/system/node/has_normal_memory) has_generic_initiator=$(value /sys/devices/system/node/has_generic_initiator)\"\n"
                + "for node in /sys/devices/system/node/node*; do\n"
                + "    [ -e \"$node\" ] || continue\n"
                + "    echo \"node ${node##*/} cpulist=$(cat \"$node/cpulist\") memtotal_kb=$(sed -n 's/^Node [0-9]* MemTotal: *\\([0-9]*\\) kB$/\\1/p' \"$node/meminfo\")\"\n"
                + "done\n"
                + "dmesg | grep -i -E 'srat|numa|initiator|node [0-9]' | while read -r line; do echo \"numalog $line\"; done\n";
        assertTrue(script.contains(nodesLine), "GuestInit's nodes line moved; adapt this test's init");
        return script.replace(nodesLine, extra).getBytes(StandardCharsets.UTF_8);
    }

    /** {@code nodestate} fields and {@code node N} lines ({@code nodeN -> "cpulist=... memtotal_kb=..."}) of the report. */
    private static Map<String, String> nodeStates(String consoleLog) {
        Map<String, String> states = new HashMap<>();
        List<String> lines = consoleLog.replace("\r", "").lines().toList();
        int begin = lines.indexOf(GuestInit.BEGIN);
        int end = lines.lastIndexOf(GuestInit.END);
        for (String line : lines.subList(Math.max(0, begin), Math.max(0, end))) {
            if (line.startsWith("nodestate ")) {
                for (String word : line.substring("nodestate ".length()).split(" ")) {
                    int equals = word.indexOf('=');
                    if (equals > 0) {
                        states.put(word.substring(0, equals), word.substring(equals + 1));
                    }
                }
            } else if (line.startsWith("node node")) {
                String[] words = line.split(" ", 3);
                states.put(words[1], words.length > 2 ? words[2] : "");
            }
        }
        return states;
    }

    /**
     * Renders the stand-in domain with the stack's libvirt, then runs exactly that command line
     * in the stack, with what only libvirtd's own start provides taken out: the environment, the
     * master-key secret (libvirtd writes its file) and the monitor socket (libvirtd connects to it),
     * replaced by {@code -qmp stdio}; the NVRAM file libvirtd would copy from the template is a copy
     * made here. Everything else, -S included, is libvirt's.
     */
    static Run start(Stack stack, GuestDomain domain) throws IOException {
        String name = "vt-grace-" + UUID.randomUUID().toString().substring(0, 8);
        List<Path> staged = new ArrayList<>();
        try {
            Path initrd = stack.stage("initrd.gz", GuestInit.initramfs(Files.readAllBytes(GuestParts.busybox(domain.architecture()))));
            staged.add(initrd);
            Path console = stack.stage("console.log", new byte[0]);
            staged.add(console);
            Path vars = stack.stage("VARS.fd", new byte[0]);
            staged.add(vars);
            String xml = domain.bootable(name, UUID.randomUUID().toString(), stack.inside(GuestParts.kernel(domain.architecture())), stack.inside(initrd), stack.inside(console));
            Path definition = stack.stage("domain.xml", xml.getBytes(StandardCharsets.UTF_8));
            staged.add(definition);
            Libvirt.Result native_ = stack.domxmlToNative(definition);
            if (!native_.ok()) {
                throw new AssertionError(stack + ": domxml-to-native refused the stand-in domain: " + native_.stderr() + "\n" + xml);
            }
            List<String> words = words(native_.stdout().strip());
            List<String> command = new ArrayList<>();
            String nvram = "/var/lib/libvirt/qemu/nvram/" + name + "_VARS.fd";
            boolean nvramUsed = false;
            int i = 0;
            while (i < words.size() && words.get(i).matches("[A-Z_]+=.*")) {
                i++;
            }
            for (; i < words.size(); i++) {
                String word = words.get(i);
                String next = i + 1 < words.size() ? words.get(i + 1) : "";
                if (word.equals("-object") && next.contains("\"qom-type\":\"secret\"") && next.contains("master-key.aes")) {
                    i++;
                } else if (word.equals("-chardev") && next.startsWith("socket,id=charmonitor,")) {
                    i++;
                } else if (word.equals("-mon") && next.startsWith("chardev=charmonitor,")) {
                    i++;
                } else {
                    nvramUsed |= word.contains(nvram);
                    command.add(word.replace(nvram, stack.inside(vars)));
                }
            }
            command.addAll(List.of("-qmp", "stdio"));
            if (nvramUsed) {
                Optional<String> template = GuestDomain.children(GuestDomain.child(GuestDomain.parse(xml).getDocumentElement(), "os").orElseThrow(), "nvram").stream()
                        .map(element -> element.getAttribute("template")).filter(t -> !t.isEmpty()).findFirst();
                String source = template.orElseThrow(() -> new AssertionError("an NVRAM without a template: " + xml));
                // Debian 12's machine has no AAVMF (qemu-efi-aarch64): its QEMU 7.2 stops at the first initiator, before it opens the file.
                if (Files.isRegularFile(stack.outside(source))) {
                    Libvirt.Result copy = stack.run(List.of("cp", source, stack.inside(vars)), 60);
                    assertTrue(copy.ok(), copy.stderr());
                }
            }
            String script = "printf '%s\\n' " + QMP.stream().map(GraceInitiatorQemuTest::shellQuote).collect(Collectors.joining(" ")) + " | "
                    + command.stream().map(GraceInitiatorQemuTest::shellQuote).collect(Collectors.joining(" "));
            return new Run(command, stack.run(List.of("sh", "-c", script), 120));
        } finally {
            for (Path file : staged) {
                Files.deleteIfExists(file);
            }
        }
    }

    /** The extra nodes and initiators of the domain's {@code <qemu:commandline>}. */
    static Form form(String plan) {
        Element domain = GuestDomain.parse(plan).getDocumentElement();
        List<String> arguments = new ArrayList<>();
        for (Element commandline : GuestDomain.children(domain, "commandline")) {
            if (GuestDomain.QEMU_NAMESPACE.equals(commandline.getNamespaceURI())) {
                GuestDomain.children(commandline, "arg").forEach(arg -> arguments.add(arg.getAttribute("value")));
            }
        }
        Map<Integer, String> nodes = new java.util.TreeMap<>();
        List<Initiator> initiators = new ArrayList<>();
        for (int i = 0; i + 1 < arguments.size(); i++) {
            Matcher node = NUMA_NODE.matcher(arguments.get(i + 1));
            Matcher initiator = INITIATOR.matcher(arguments.get(i + 1));
            if (arguments.get(i).equals("-numa") && node.matches()) {
                nodes.put(Integer.parseInt(node.group(1)), node.group(2) == null ? "" : node.group(2));
            } else if (arguments.get(i).equals("-object") && initiator.matches()) {
                Map<String, String> properties = new HashMap<>();
                for (String pair : initiator.group(1).split(",")) {
                    String[] keyValue = pair.split("=", 2);
                    properties.put(keyValue[0], keyValue.length > 1 ? keyValue[1] : "");
                }
                initiators.add(new Initiator(properties.get("id"), properties.get("pci-dev"), Integer.parseInt(properties.get("node"))));
            }
        }
        return new Form(nodes, initiators);
    }

    static TreeSet<Integer> cellIds(String plan) {
        Element domain = GuestDomain.parse(plan).getDocumentElement();
        return GuestDomain.child(domain, "cpu").flatMap(cpu -> GuestDomain.child(cpu, "numa")).map(numa -> GuestDomain.children(numa, "cell")).orElse(List.of()).stream()
                .map(cell -> Integer.parseInt(cell.getAttribute("id"))).collect(Collectors.toCollection(TreeSet::new));
    }

    /** A node set as the kernel and libvirt write it: {@code 0-1,3}. */
    static String compress(TreeSet<Integer> nodes) {
        StringBuilder text = new StringBuilder();
        Integer start = null;
        Integer previous = null;
        for (int node : nodes) {
            if (previous != null && node == previous + 1) {
                previous = node;
                continue;
            }
            if (start != null) {
                text.append(text.length() == 0 ? "" : ",").append(start.equals(previous) ? start.toString() : start + "-" + previous);
            }
            start = node;
            previous = node;
        }
        if (start != null) {
            text.append(text.length() == 0 ? "" : ",").append(start.equals(previous) ? start.toString() : start + "-" + previous);
        }
        return text.toString();
    }

    /** The words of libvirt's argv: separated by spaces, single-quoted where libvirt quoted them, backslash escapes. */
    static List<String> words(String argv) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        boolean quoted = false;
        for (int i = 0; i < argv.length(); i++) {
            char c = argv.charAt(i);
            if (quoted) {
                if (c == '\'') {
                    quoted = false;
                } else {
                    word.append(c);
                }
            } else if (c == '\'') {
                quoted = true;
                inWord = true;
            } else if (c == '\\' && i + 1 < argv.length()) {
                word.append(argv.charAt(++i));
                inWord = true;
            } else if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
            } else {
                word.append(c);
                inWord = true;
            }
        }
        if (quoted) {
            throw new IllegalArgumentException("unterminated quote in " + argv);
        }
        if (inWord) {
            words.add(word.toString());
        }
        return words;
    }

    static String shellQuote(String word) {
        return word.matches("[A-Za-z0-9_.,:/=+@%-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
    }

    private static String argument(Initiator initiator, String pciDev, int node) {
        return "<qemu:arg value='acpi-generic-initiator,id=" + initiator.id() + ",pci-dev=" + pciDev + ",node=" + node + "'/>";
    }

    private static String replaceOnce(String text, String part, String replacement) {
        int at = text.indexOf(part);
        assertTrue(at >= 0 && text.indexOf(part, at + 1) < 0, "exactly one '" + part + "' in the domain");
        return text.substring(0, at) + replacement + text.substring(at + part.length());
    }

    private static String serialize(Document document) {
        return GuestDomain.serialize(document);
    }

}
