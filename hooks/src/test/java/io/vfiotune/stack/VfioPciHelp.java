package io.vfiotune.stack;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The properties one QEMU binary's {@code -device vfio-pci,help} lists, with the
 * type QEMU prints for each ({@code x-nv-gpudirect-clique=<uint4>}).
 */
public record VfioPciHelp(String emulator, Map<String, String> typeByProperty) {
    private static final Pattern PROPERTY = Pattern.compile("^\\s+([A-Za-z0-9_.-]+)=<([^>]+)>", Pattern.MULTILINE);

    public VfioPciHelp {
        typeByProperty = Map.copyOf(typeByProperty);
    }

    static VfioPciHelp parse(String emulator, String help) {
        Map<String, String> types = new TreeMap<>();
        Matcher matcher = PROPERTY.matcher(help);
        while (matcher.find()) {
            types.put(matcher.group(1), matcher.group(2));
        }
        if (types.isEmpty()) {
            throw new AssertionError(emulator + " -device vfio-pci,help listed no properties:\n" + help);
        }
        return new VfioPciHelp(emulator, types);
    }

    public Optional<String> type(String property) {
        return Optional.ofNullable(typeByProperty.get(property));
    }
}
