package io.vfiotune.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vfiotune.platform.VfioPciProperty;
import io.vfiotune.spi.DomainEdit;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * vfio-tune's property table ({@link VfioPciProperty}) against the real QEMU
 * binaries of both stacks: for every binary and every property the table makes
 * a claim about on that architecture, the property is listed by
 * {@code -device vfio-pci,help} with a type the table allows exactly when the
 * table says that QEMU version has it, and a {@code bool} property's printed
 * default is the one the table gives that version. A wrong name, a wrong type, a
 * wrong "since" version or a wrong default fails here.
 * <p>
 * It also writes how {@code -device vfio-pci,help} differs from each stack to the next
 * (target/vfio-pci-differences.md): properties that came, went, changed type or default.
 * Every difference in a property of vfio-tune's table is one the table already states,
 * or the first test fails.
 */
class VfioPciPropertyTruthTest {
    @Test
    void tableMatchesEveryQemuBinaryOfBothStacks() {
        List<String> problems = new ArrayList<>();
        StringBuilder matrix = new StringBuilder();
        for (Stack stack : Stacks.all()) {
            for (String emulator : Stack.emulators()) {
                VfioPciHelp help = stack.vfioPciHelp(emulator);
                String architecture = emulator.substring(emulator.lastIndexOf('-') + 1);
                for (VfioPciProperty property : VfioPciProperty.values()) {
                    if (!property.architectures().contains(architecture)) {
                        continue;
                    }
                    boolean claimed = property.availableIn(stack.qemuVersion());
                    Optional<String> type = help.type(property.qemuName());
                    String where = stack + " " + emulator + ": " + property.qemuName();
                    matrix.append(where).append(" table=").append(claimed ? "has" : "lacks").append(" binary=").append(type.map(t -> "<" + t + ">").orElse("absent")).append('\n');
                    if (claimed && type.isEmpty()) {
                        problems.add(where + " is in vfio-tune's table since QEMU " + property.since() + " but this QEMU " + stack.qemuVersion() + " does not list it");
                    } else if (claimed && !property.qemuTypes().contains(type.get())) {
                        problems.add(where + " is <" + type.get() + "> here, but vfio-tune's table allows " + property.qemuTypes());
                    } else if (!claimed && type.isPresent()) {
                        problems.add(where + " exists in QEMU " + stack.qemuVersion() + ", but vfio-tune's table says it arrives in " + property.since());
                    }
                    if (claimed && property.type() == DomainEdit.PropertyType.BOOL) {
                        String expected = Boolean.toString(property.onByDefaultIn(stack.qemuVersion()));
                        // QEMU 7.2 prints a bool's default as true/false, 10.0 as on/off
                        Optional<String> printed = help.defaultValue(property.qemuName()).map(value -> value.equals("on") ? "true" : value.equals("off") ? "false" : value);
                        matrix.append(where).append(" default table=").append(expected).append(" binary=").append(printed.orElse("not printed")).append('\n');
                        if (printed.isPresent() && !printed.get().equals(expected)) {
                            problems.add(where + " defaults to " + printed.get() + " here, but vfio-tune's table says " + expected + " for QEMU " + stack.qemuVersion());
                        }
                    }
                }
            }
        }
        System.out.print(matrix);
        assertEquals(List.of(), problems, "vfio-tune's property table disagrees with the real QEMU binaries");
    }

    /** Every property that came, went, or changed type or printed default from one stack's QEMU to the next, per emulator. */
    @Test
    void differencesFromEachStackToTheNextAreWrittenDown() throws java.io.IOException {
        List<Stack> stacks = Stacks.all();
        StringBuilder table = new StringBuilder("| emulator | from | to | property | before | after | in vfio-tune's table |\n|---|---|---|---|---|---|---|\n");
        int differences = 0;
        for (int i = 1; i < stacks.size(); i++) {
            Stack before = stacks.get(i - 1);
            Stack after = stacks.get(i);
            for (String emulator : Stack.emulators()) {
                VfioPciHelp old = before.vfioPciHelp(emulator);
                VfioPciHelp now = after.vfioPciHelp(emulator);
                java.util.TreeSet<String> names = new java.util.TreeSet<>(old.typeByProperty().keySet());
                names.addAll(now.typeByProperty().keySet());
                for (String name : names) {
                    String was = describe(old, name);
                    String is = describe(now, name);
                    if (!was.equals(is)) {
                        differences++;
                        table.append("| ").append(emulator.substring(emulator.lastIndexOf('-') + 1)).append(" | QEMU ").append(before.qemuVersion()).append(" | QEMU ").append(after.qemuVersion())
                                .append(" | ").append(name).append(" | ").append(was).append(" | ").append(is).append(" | ")
                                .append(VfioPciProperty.byQemuName(name).map(property -> "yes: since " + property.since()).orElse("no")).append(" |\n");
                    }
                }
            }
        }
        System.out.print(table);
        java.nio.file.Files.writeString(java.nio.file.Files.createDirectories(java.nio.file.Path.of("target")).resolve("vfio-pci-differences.md"), table);
        // Three stacks of three QEMU minor versions cannot all print the same vfio-pci: a run
        // that found no difference read the same binary twice.
        assertEquals(stacks.size() > 1, differences > 0, "differences found between " + stacks + ":\n" + table);
    }

    /** A property as a binary lists it; a bool's default as on/off, which QEMU 7.2 prints as true/false. */
    private static String describe(VfioPciHelp help, String name) {
        return help.type(name).map(type -> "<" + type + ">" + help.defaultValue(name)
                .map(value -> " default " + (type.equals("bool") ? value.replace("true", "on").replace("false", "off") : value)).orElse("")).orElse("absent");
    }
}
