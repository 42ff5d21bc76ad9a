package io.vfiotune.guest;

import io.vfiotune.golden.Libvirt;
import io.vfiotune.stack.Stack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Boots a planned domain for real: the plan's host devices become emulated
 * stand-ins ({@link GuestDomain}), a TCG guest with a busybox initramfs
 * ({@link GuestInit}) starts as a transient domain of the stack's libvirtd,
 * reports the PCI topology its kernel sees on the console and powers off. What
 * is checked is the layout the plan asked for, as QEMU built it and Linux found it.
 */
public final class BootedGuest {
    /** TCG pseries takes the longest of the platforms; far more than this means a hung guest. */
    public static final Duration TIME_LIMIT = Duration.ofSeconds(120);
    private static final Duration POLL = Duration.ofMillis(250);
    /** How long a guest that printed its whole report gets to power off (it takes well under a second). */
    private static final Duration AFTER_REPORT = Duration.ofSeconds(60);

    /**
     * One finished boot: the stand-ins, what the guest reported, and its wall
     * times: {@code elapsed} from {@code virsh create} until the domain was gone,
     * {@code creating} the part until {@code virsh create} returned (libvirtd's
     * own work and QEMU's start, before the guest runs).
     */
    public record Boot(Stack stack, String domainName, List<StandIn> standIns, List<String> adaptations, GuestReport report, Duration elapsed, Duration creating,
            String consoleLog) {
        public Boot {
            standIns = List.copyOf(standIns);
            adaptations = List.copyOf(adaptations);
        }
    }

    private BootedGuest() {
    }

    public static Boot boot(Stack stack, String plannedXml) {
        return boot(stack, plannedXml, TIME_LIMIT);
    }

    /**
     * @throws AssertionError when libvirt refuses the domain, the guest does not
     *         end within {@code limit}, or its report is incomplete; the message has the console log
     */
    public static Boot boot(Stack stack, String plannedXml, Duration limit) {
        return boot(stack, plannedXml, limit, GuestInit.script());
    }

    /** With another /init: for the harness's own tests of guests that fail. */
    static Boot boot(Stack stack, String plannedXml, Duration limit, byte[] init) {
        return boot(stack, GuestDomain.fromPlan(plannedXml), limit, init);
    }

    /** A guest domain made otherwise than {@link GuestDomain#fromPlan(String)} (such as {@link GuestDomain#fromPlanWithBars}). */
    public static Boot boot(Stack stack, GuestDomain domain, Duration limit) {
        return boot(stack, domain, limit, GuestInit.script());
    }

    /** QEMU's own abort in TCG's softmmu (system/physmem.c), a race in the emulator and nothing the guest's layout decides. */
    static final String TCG_IOTLB_ABORT = "iotlb_to_section: Assertion";

    /**
     * A guest domain of its own with another /init, for tests that need more of the guest than {@link GuestInit} prints.
     * When QEMU itself aborts with {@link #TCG_IOTLB_ABORT} (seen once in a dozen DGX boots on QEMU 10.0, under load),
     * the guest is booted once more, and the test output says so; any other failure fails at once.
     */
    static Boot boot(Stack stack, GuestDomain domain, Duration limit, byte[] init) {
        try {
            return bootOnce(stack, domain, limit, init);
        } catch (AssertionError first) {
            if (first.getMessage() == null || !first.getMessage().contains(TCG_IOTLB_ABORT)) {
                throw first;
            }
            Boot again = bootOnce(stack, domain, limit, init);
            List<String> adaptations = new ArrayList<>(again.adaptations());
            adaptations.add("booted a second time: the first QEMU aborted (" + TCG_IOTLB_ABORT + "...), an emulator race in TCG");
            return new Boot(again.stack(), again.domainName(), again.standIns(), adaptations, again.report(), again.elapsed(), again.creating(), again.consoleLog());
        }
    }

    private static Boot bootOnce(Stack stack, GuestDomain domain, Duration limit, byte[] init) {
        // Changes beyond the stand-ins that a stack needs; the test output lists them.
        List<String> adaptations = new ArrayList<>();
        // Seen: libvirt 9.0 segfaults on such a domain, 11.3 starts it; versions between are untested, so they get the change too.
        if (!stack.libvirtVersion().atLeast(11, 3) && domain.hasVcpusAfterCpulessCell()) {
            adaptations.add(domain.moveVcpusToFirstCell() + ", because libvirt " + stack.libvirtVersion() + " crashes starting the plan's cells");
        }
        if (domain.architecture().equals("x86_64")) {
            domain.singleVcpu().ifPresent(change -> adaptations.add(change + ", because QEMU's multi-threaded TCG can abort in " + TCG_IOTLB_ABORT.replace(": Assertion", "")
                    + " while several vCPUs run and the guest programs its BARs"));
        }
        String name = uniqueName(domain.plannedName());
        List<Path> staged = new ArrayList<>();
        boolean submitted = false;
        try {
            String architecture = domain.architecture();
            Path kernel = track(staged, stack.stageForEmulator("kernel", Files.readAllBytes(GuestParts.kernel(architecture))));
            Path initrd = track(staged, stack.stageForEmulator("initrd.gz", GuestInit.initramfs(Files.readAllBytes(GuestParts.busybox(architecture)), init)));
            Path console = track(staged, stack.stageForEmulator("console.log", new byte[0]));
            String xml = domain.bootable(name, UUID.randomUUID().toString(), stack.inside(kernel), stack.inside(initrd), stack.inside(console));
            Path definition = track(staged, stack.stage("domain.xml", xml.getBytes(StandardCharsets.UTF_8)));

            long started = System.nanoTime();
            // Set before the call: a create that timed out on our side may still have started the domain.
            submitted = true;
            Libvirt.Result create = stack.virsh("create", stack.inside(definition));
            if (!create.ok()) {
                throw new AssertionError(stack + ": virsh create refused the stand-in domain: " + create.stderr().strip() + "\n" + xml + evidence(stack, name, ""));
            }
            Duration creating = Duration.ofNanos(System.nanoTime() - started);
            Ending ending = waitUntilGone(stack, name, limit, console);
            Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
            String log = new String(Files.readAllBytes(console), StandardCharsets.UTF_8);
            if (ending == Ending.REPORTED_BUT_RUNNING) {
                // What the test judges is the report, which is whole; the guest is destroyed below, and the table says so.
                adaptations.add("the guest printed its whole report but had not powered off " + AFTER_REPORT.toSeconds()
                        + " s later (poweroff -f under TCG, seen once with AAVMF on QEMU 11.1); destroyed");
            } else if (ending == Ending.RUNNING) {
                throw new AssertionError(stack + ": guest " + name + " did not end within " + limit.toSeconds() + " s" + evidence(stack, name, log));
            }
            try {
                return new Boot(stack, name, domain.standIns(), adaptations, GuestReport.parse(log), elapsed, creating, log);
            } catch (IllegalArgumentException e) {
                throw new AssertionError(stack + ": guest " + name + " ended after " + elapsed.toMillis() + " ms, but " + e.getMessage() + evidence(stack, name, log), e);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (submitted) {
                // Gone already when the guest powered off; this is for the guest that hung or a failure in between.
                stack.virsh("destroy", name);
            }
            for (Path file : staged) {
                deleteQuietly(file);
            }
            deleteQuietly(qemuLog(stack, name));
            if (domain.keepsFirmware()) {
                // The variable store libvirt copied from the template for this one boot.
                deleteQuietly(stack.outside("/var/lib/libvirt/qemu/nvram/" + name + "_VARS.fd"));
            }
        }
    }

    private enum Ending {
        GONE, REPORTED_BUT_RUNNING, RUNNING
    }

    /**
     * A transient domain disappears when its guest ends (every end action is destroy). A guest
     * that printed its whole report and then did not power off within {@link #AFTER_REPORT} has
     * said all it will; one that never printed it is hung, and fails at the limit.
     */
    private static Ending waitUntilGone(Stack stack, String name, Duration limit, Path console) {
        long deadline = System.nanoTime() + limit.toNanos();
        long reported = 0;
        while (System.nanoTime() < deadline) {
            Libvirt.Result state = stack.virsh("domstate", name);
            if (!state.ok() && (state.stderr().contains("failed to get domain") || state.stderr().contains("Domain not found"))) {
                return Ending.GONE;
            }
            if (reported == 0 && reportIsWhole(console)) {
                reported = System.nanoTime();
            }
            if (reported != 0 && System.nanoTime() - reported > AFTER_REPORT.toNanos()) {
                return Ending.REPORTED_BUT_RUNNING;
            }
            try {
                Thread.sleep(POLL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Ending.RUNNING;
            }
        }
        return Ending.RUNNING;
    }

    private static boolean reportIsWhole(Path console) {
        try {
            return new String(Files.readAllBytes(console), StandardCharsets.UTF_8).lines().anyMatch(line -> line.strip().equals(GuestInit.END));
        } catch (IOException e) {
            return false;
        }
    }

    /** The console log and the tail of QEMU's own log (libvirt writes QEMU's errors there), for failure messages. */
    private static String evidence(Stack stack, String name, String console) {
        String qemu;
        try {
            List<String> lines = Files.readAllLines(qemuLog(stack, name));
            qemu = String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException | UncheckedIOException e) {
            qemu = "(none: " + e.getMessage() + ")";
        }
        return "\n--- console log ---\n" + (console.isBlank() ? "(empty)" : console.replace("\r", "")) + "\n--- QEMU log (tail) ---\n" + qemu;
    }

    private static Path qemuLog(Stack stack, String name) {
        return stack.outside("/var/log/libvirt/qemu/" + name + ".log");
    }

    /** The plan's name for recognisability, plus random hex so concurrent and repeated boots never share a domain. */
    private static String uniqueName(String planned) {
        String safe = planned.replaceAll("[^A-Za-z0-9_.-]", "-");
        byte[] random = new byte[4];
        ThreadLocalRandom.current().nextBytes(random);
        return "vt-guest-" + safe.substring(0, Math.min(safe.length(), 40)) + "-" + HexFormat.of().formatHex(random);
    }

    private static Path track(List<Path> staged, Path file) {
        staged.add(file);
        return file;
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // a leftover file in a staging directory is harmless
        }
    }
}
