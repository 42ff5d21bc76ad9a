package io.vfiotune.golden;

import io.vfiotune.platform.VfioPciProperty;
import io.vfiotune.stack.Stack;
import io.vfiotune.stack.VfioPciHelp;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which real stacks judge a golden output. A stack judges an output when its
 * QEMU has every device property the output sets: by vfio-tune's own table for
 * the properties vfio-tune emits (proved against the binaries by
 * {@code VfioPciPropertyTruthTest}), by the binary's help for any other. So a
 * case for QEMU 10.0 behaviour is judged by QEMU 10.0 and never by a QEMU that
 * lacks its properties; an output the older stack can take is judged by both.
 * The same holds for the QOM object types an output's command line creates
 * (Grace's {@code acpi-generic-initiator}, QEMU 9.0 and later), and the machine
 * properties it sets with {@code -machine NAME=VALUE} (Grace's
 * {@code highmem-mmio-size}, QEMU 10.0 and later).
 */
final class StackJudges {
    private static final Pattern OVERRIDE_PROPERTY = Pattern.compile("<qemu:property\\s[^>]*?name=(['\"])([^'\"]+)\\1");
    private static final Pattern SET_ARGUMENT = Pattern.compile("<qemu:arg\\s+value=(['\"])device\\.[^.'\"]+\\.([^='\"]+)=");
    private static final Pattern OBJECT_ARGUMENT = Pattern.compile("<qemu:arg\\s+value=(['\"])-object\\1\\s*/>\\s*<qemu:arg\\s+value=(['\"])([a-z0-9-]+),");
    private static final Pattern MACHINE_ARGUMENT = Pattern.compile("<qemu:arg\\s+value=(['\"])-machine\\1\\s*/>\\s*<qemu:arg\\s+value=(['\"])([a-z0-9-]+)=");
    private static final Pattern MACHINE = Pattern.compile("<type\\s[^>]*?machine=(['\"])([^'\"]+)\\1");
    private static final Pattern EMULATOR = Pattern.compile("<emulator>\\s*([^<\\s]+)\\s*</emulator>");
    private static final Pattern ARCH = Pattern.compile("<type\\s[^>]*?arch=(['\"])([^'\"]+)\\1");

    private StackJudges() {
    }

    /** The device properties a domain XML sets, by QEMU name. */
    static Set<String> properties(String domainXml) {
        Set<String> names = new TreeSet<>();
        for (Pattern pattern : List.of(OVERRIDE_PROPERTY, SET_ARGUMENT)) {
            Matcher matcher = pattern.matcher(domainXml);
            while (matcher.find()) {
                names.add(matcher.group(2));
            }
        }
        return names;
    }

    /** The QOM object types a domain's {@code <qemu:commandline>} creates with {@code -object TYPE,...}. */
    static Set<String> objectTypes(String domainXml) {
        Set<String> types = new TreeSet<>();
        Matcher matcher = OBJECT_ARGUMENT.matcher(domainXml);
        while (matcher.find()) {
            types.add(matcher.group(3));
        }
        return types;
    }

    /** The machine properties a domain's {@code <qemu:commandline>} sets with {@code -machine NAME=VALUE}. */
    static Set<String> machineProperties(String domainXml) {
        Set<String> names = new TreeSet<>();
        Matcher matcher = MACHINE_ARGUMENT.matcher(domainXml);
        while (matcher.find()) {
            names.add(matcher.group(3));
        }
        return names;
    }

    /** The machine type a domain names, {@code virt} when it names none (only aarch64 outputs set machine properties). */
    static String machine(String domainXml) {
        Matcher machine = MACHINE.matcher(domainXml);
        return machine.find() ? machine.group(2) : "virt";
    }

    /** The QEMU binary a domain names, or the one its architecture implies. */
    static String emulator(String domainXml) {
        Matcher emulator = EMULATOR.matcher(domainXml);
        if (emulator.find()) {
            return emulator.group(1);
        }
        Matcher arch = ARCH.matcher(domainXml);
        String architecture = arch.find() ? arch.group(2) : "x86_64";
        return "/usr/bin/qemu-system-" + switch (architecture) {
            case "ppc64", "ppc64le" -> "ppc64";
            case "aarch64" -> "aarch64";
            default -> "x86_64";
        };
    }

    static String architecture(String emulator) {
        return emulator.substring(emulator.lastIndexOf("qemu-system-") + "qemu-system-".length());
    }

    /** Why {@code stack} cannot honour an output (what its QEMU lacks), or empty when it can judge it. */
    static Optional<String> cannotJudge(Stack stack, String domainXml) {
        String emulator = emulator(domainXml);
        String qemu = "QEMU " + stack.qemuVersion();
        for (String type : objectTypes(domainXml)) {
            if (!stack.hasObjectType(emulator, type)) {
                return Optional.of(qemu + " has no object " + type);
            }
        }
        for (String name : machineProperties(domainXml)) {
            if (!stack.hasMachineProperty(emulator, machine(domainXml), name)) {
                return Optional.of(qemu + "'s " + machine(domainXml) + " has no " + name);
            }
        }
        for (String name : properties(domainXml)) {
            Optional<VfioPciProperty> known = VfioPciProperty.byQemuName(name);
            boolean available = known.isPresent()
                    ? known.get().availableIn(stack.qemuVersion())
                    : stack.vfioPciHelp(emulator).type(name).isPresent();
            if (!available) {
                return Optional.of(qemu + "'s vfio-pci has no " + name);
            }
        }
        return Optional.empty();
    }

    /** Every property of an output that the judging stack's QEMU binary does not list with a compatible type. */
    static List<String> missingProperties(Stack stack, String domainXml) {
        String emulator = emulator(domainXml);
        VfioPciHelp help = stack.vfioPciHelp(emulator);
        List<String> problems = new ArrayList<>();
        for (String name : properties(domainXml)) {
            Optional<String> type = help.type(name);
            Optional<VfioPciProperty> known = VfioPciProperty.byQemuName(name);
            if (type.isEmpty()) {
                problems.add(name + " is not a property of " + stack + "'s " + emulator + " -device vfio-pci");
            } else if (known.isPresent() && !known.get().qemuTypes().contains(type.get())) {
                problems.add(name + " is <" + type.get() + "> in " + stack + "'s " + emulator + ", not one of " + known.get().qemuTypes());
            }
        }
        return problems;
    }
}
