package io.vfiotune.stack;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The properties one QEMU binary's {@code -device vfio-pci,help} lists, with the
 * type QEMU prints for each ({@code x-nv-gpudirect-clique=<uint4>}) and the
 * default where it prints one ({@code x-igd-opregion=<bool> - on/off (default: false)}).
 */
public record VfioPciHelp(String emulator, Map<String, String> typeByProperty, Map<String, String> defaultByProperty) {
    private static final Pattern PROPERTY = Pattern.compile("^\\s+([A-Za-z0-9_.-]+)=<([^>]+)>(.*)$", Pattern.MULTILINE);
    private static final Pattern DEFAULT = Pattern.compile("\\(default: \"?([^)\"]*)\"?\\)\\s*$");

    public VfioPciHelp {
        typeByProperty = Map.copyOf(typeByProperty);
        defaultByProperty = Map.copyOf(defaultByProperty);
    }

    static VfioPciHelp parse(String emulator, String help) {
        Map<String, String> types = new TreeMap<>();
        Map<String, String> defaults = new TreeMap<>();
        Matcher matcher = PROPERTY.matcher(help);
        while (matcher.find()) {
            types.put(matcher.group(1), matcher.group(2));
            Matcher defaultValue = DEFAULT.matcher(matcher.group(3));
            if (defaultValue.find()) {
                defaults.put(matcher.group(1), defaultValue.group(1));
            }
        }
        if (types.isEmpty()) {
            throw new AssertionError(emulator + " -device vfio-pci,help listed no properties:\n" + help);
        }
        return new VfioPciHelp(emulator, types, defaults);
    }

    public Optional<String> type(String property) {
        return Optional.ofNullable(typeByProperty.get(property));
    }

    /** The default the binary prints, without quotes; empty when it prints none. */
    public Optional<String> defaultValue(String property) {
        return Optional.ofNullable(defaultByProperty.get(property));
    }
}
