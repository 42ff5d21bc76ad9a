package io.vfiotune.golden;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * libvirt's domxml-to-native refuses a {@code <numatune>} nodeset that names a
 * NUMA node the machine running it does not have ("NUMA node 3 is unavailable"),
 * so the golden outputs of multi-node hosts (the DGX has nodes 1, 3, 5, 7) could
 * only be rendered on such a host. The numatune is the user's input, never
 * vfio-tune's output, so for rendering only, each nodeset is rewritten to this
 * machine's first online node; virt-xml-validate still checks the output as
 * written, and the argv shows the rewritten nodesets. Used through {@link JudgingMachine}.
 */
final class JudgingMachineNuma {
    private static final Pattern NUMATUNE = Pattern.compile("<numatune>.*?</numatune>", Pattern.DOTALL);
    private static final Pattern NODESET = Pattern.compile("nodeset=(['\"])([^'\"]*)\\1");

    private JudgingMachineNuma() {
    }

    /** The output with numatune nodesets this machine lacks rewritten; the output itself when it has them all. */
    static String adapt(String output) throws IOException {
        Matcher numatune = NUMATUNE.matcher(output);
        if (!numatune.find()) {
            return output;
        }
        TreeSet<Integer> online = parse(Files.readString(Path.of("/sys/devices/system/node/online")).strip());
        Matcher nodeset = NODESET.matcher(numatune.group());
        StringBuilder adapted = new StringBuilder();
        boolean changed = false;
        while (nodeset.find()) {
            boolean available = online.containsAll(parse(nodeset.group(2)));
            changed |= !available;
            nodeset.appendReplacement(adapted, Matcher.quoteReplacement(available ? nodeset.group() : "nodeset=" + nodeset.group(1) + online.first() + nodeset.group(1)));
        }
        nodeset.appendTail(adapted);
        return changed ? output.substring(0, numatune.start()) + adapted + output.substring(numatune.end()) : output;
    }

    /** libvirt's and the kernel's node lists: "0-3,5,7". */
    private static TreeSet<Integer> parse(String list) {
        TreeSet<Integer> nodes = new TreeSet<>();
        for (String part : list.split(",")) {
            String[] range = part.strip().split("-");
            int first = Integer.parseInt(range[0].strip());
            int last = range.length > 1 ? Integer.parseInt(range[1].strip()) : first;
            for (int node = first; node <= last; node++) {
                nodes.add(node);
            }
        }
        return nodes;
    }
}
