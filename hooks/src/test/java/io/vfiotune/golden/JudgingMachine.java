package io.vfiotune.golden;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a golden output is rendered as ({@code domxml-to-native}) on a judging machine that is
 * not the host the output is for, and what that leaves unjudged. virt-xml-validate always
 * checks the output as written; only the rendering is adapted, and every adaptation is said in
 * the verdict table, never silently.
 * <ul>
 * <li>{@code <domain type='kvm'>} is rendered as {@code type='qemu'} (TCG), on every machine:
 * libvirt refuses KVM where there is no {@code /dev/kvm} ("does not support virt type 'kvm'"),
 * and where there is one, a {@code host-model} CPU expands to the judging machine's own CPU,
 * so the argv would differ from machine to machine. Under TCG libvirt expands
 * {@code host-model} from QEMU's TCG CPU, the same everywhere; what stays unjudged is the KVM
 * expansion on the real host.</li>
 * <li>{@code <numatune>} nodesets the machine lacks ({@link JudgingMachineNuma}).</li>
 * </ul>
 */
final class JudgingMachine {
    private static final Pattern KVM_DOMAIN = Pattern.compile("<domain(\\s[^>]*?)?\\stype=(['\"])kvm\\2");

    private JudgingMachine() {
    }

    /** The XML a stack renders, and a note for each thing rendered otherwise than written. */
    record Rendering(String xml, List<String> notes) {
        Rendering {
            notes = List.copyOf(notes);
        }
    }

    static Rendering adapt(String output) throws IOException {
        List<String> notes = new ArrayList<>();
        String xml = output;
        Matcher kvm = KVM_DOMAIN.matcher(xml);
        if (kvm.find()) {
            xml = kvm.replaceFirst("<domain$1 type=$2qemu$2");
            notes.add("rendered for TCG (type='kvm' as 'qemu'); not judged: the KVM accelerator"
                    + (output.contains("mode='host-model'") || output.contains("mode=\"host-model\"") ? " and host-model's expansion to the real host's CPU" : ""));
        }
        String numa = JudgingMachineNuma.adapt(xml);
        if (!numa.equals(xml)) {
            notes.add("numatune nodesets this machine lacks rendered as its first node");
            xml = numa;
        }
        return new Rendering(xml, notes);
    }
}
