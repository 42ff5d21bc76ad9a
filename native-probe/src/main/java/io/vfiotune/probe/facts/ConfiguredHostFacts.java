package io.vfiotune.probe.facts;

import static java.util.Objects.requireNonNull;

import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.HostFacts;
import io.vfiotune.spi.QemuBackport;
import io.vfiotune.spi.Version;
import io.vfiotune.spi.VfioTuneException;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Host facts: a pinned value when the settings have one, else read from the
 * machine on first use. Nothing is read that a plan does not ask for.
 */
public final class ConfiguredHostFacts implements HostFacts {
    private static final Pattern DEVICE_MEMORY_ENTRY = Pattern.compile("([0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\\.[0-7]|[0-9a-f]{4}:[0-9a-f]{4})=([0-9]{1,16})([kmgt]?)");
    private static final Pattern MSIX_ENTRY = Pattern.compile("([0-9a-f]{4}:[0-9a-f]{4})=bar([0-5])");
    private final HostSettings settings;
    private final NativeSystem nativeSystem;
    private final LibvirtVersionSource libvirt;
    private final QemuVersionProbe qemu;
    private String architecture;
    private Long pageSize;
    private Version libvirtVersion;

    public ConfiguredHostFacts(HostSettings settings, NativeSystem nativeSystem, LibvirtVersionSource libvirt, QemuVersionProbe qemu) {
        this.settings = requireNonNull(settings, "settings is null");
        this.nativeSystem = requireNonNull(nativeSystem, "nativeSystem is null");
        this.libvirt = requireNonNull(libvirt, "libvirt is null");
        this.qemu = requireNonNull(qemu, "qemu is null");
    }

    @Override
    public synchronized String architecture() {
        if (architecture == null) {
            architecture = pinned(HostSettings.ARCH, value -> value).orElseGet(() -> fromMachine(HostSettings.ARCH, nativeSystem::machine));
        }
        return architecture;
    }

    @Override
    public synchronized long pageSize() {
        if (pageSize == null) {
            pageSize = pinned(HostSettings.PAGE_SIZE, ConfiguredHostFacts::parsePageSize)
                    .orElseGet(() -> fromMachine(HostSettings.PAGE_SIZE, nativeSystem::pageSize));
        }
        return pageSize;
    }

    @Override
    public synchronized Version libvirtVersion() {
        if (libvirtVersion == null) {
            libvirtVersion = pinned(HostSettings.LIBVIRT_VERSION, Version::parse)
                    .orElseGet(() -> fromMachine(HostSettings.LIBVIRT_VERSION, libvirt::libvirtVersion));
        }
        return libvirtVersion;
    }

    @Override
    public Version qemuVersion(Optional<String> emulator) {
        Optional<Version> pinned = pinned(HostSettings.QEMU_VERSION, Version::parse);
        if (pinned.isPresent()) {
            return pinned.get();
        }
        String binary = emulator.orElseThrow(() -> unknown(HostSettings.QEMU_VERSION, "the domain names no <emulator>"));
        return fromMachine(HostSettings.QEMU_VERSION, () -> qemu.version(Path.of(binary)));
    }

    @Override
    public Set<String> peerToPeerHostBridges() {
        return pinned(HostSettings.P2P_HOST_BRIDGES, ConfiguredHostFacts::parseHostBridges).orElse(Set.of());
    }

    @Override
    public Set<QemuBackport> qemuBackports() {
        return pinned(HostSettings.QEMU_BACKPORTS, ConfiguredHostFacts::parseBackports).orElse(Set.of());
    }

    @Override
    public Map<String, Integer> msixKnownGood() {
        return pinned(HostSettings.MSIX_RELOCATION_TABLE, ConfiguredHostFacts::parseMsixTable).orElse(Map.of());
    }

    @Override
    public Map<String, Long> graceDeviceMemory() {
        return pinned(HostSettings.GRACE_DEVICE_MEMORY, ConfiguredHostFacts::parseDeviceMemory).orElse(Map.of());
    }

    private static Map<String, Long> parseDeviceMemory(String text) {
        Map<String, Long> memory = new TreeMap<>();
        if (text.isBlank()) {
            // an empty setting declares nothing, as if it were absent
            return Map.of();
        }
        for (String entry : text.split(",")) {
            Matcher matcher = DEVICE_MEMORY_ENTRY.matcher(entry.trim().toLowerCase(Locale.ROOT));
            if (!matcher.matches()) {
                throw new IllegalArgumentException("'" + entry.trim() + "' is not an entry like 0009:01:00.0=96G or 10de:2941=186G");
            }
            long amount = Long.parseLong(matcher.group(2));
            int shift = switch (matcher.group(3)) {
                case "k" -> 10;
                case "m" -> 20;
                case "g" -> 30;
                case "t" -> 40;
                default -> 0;
            };
            // 1024T is far beyond any GPU and keeps the BAR arithmetic clear of overflow
            if (amount == 0 || amount > (1L << 50) >> shift) {
                throw new IllegalArgumentException("'" + entry.trim() + "': the size must be more than 0 and at most 1024T");
            }
            if (memory.put(matcher.group(1), amount << shift) != null) {
                throw new IllegalArgumentException("'" + matcher.group(1) + "' is given twice");
            }
        }
        return Map.copyOf(memory);
    }

    private static Map<String, Integer> parseMsixTable(String text) {
        Map<String, Integer> table = new TreeMap<>();
        for (String entry : text.split(",")) {
            Matcher matcher = MSIX_ENTRY.matcher(entry.trim());
            if (!matcher.matches()) {
                throw new IllegalArgumentException("'" + entry.trim() + "' is not an entry like 126f:2262=bar2");
            }
            table.put(matcher.group(1), Integer.parseInt(matcher.group(2)));
        }
        return Map.copyOf(table);
    }

    private static Set<QemuBackport> parseBackports(String text) {
        Set<QemuBackport> backports = EnumSet.noneOf(QemuBackport.class);
        for (String entry : text.split(",")) {
            String name = entry.trim();
            backports.add(QemuBackport.bySettingName(name).orElseThrow(() -> new IllegalArgumentException("'" + name + "' is not a backport vfio-tune knows; known: "
                    + String.join(", ", Arrays.stream(QemuBackport.values()).map(QemuBackport::settingName).toList()))));
        }
        return Set.copyOf(backports);
    }

    private static Set<String> parseHostBridges(String text) {
        Set<String> bridges = new TreeSet<>();
        for (String entry : text.split(",")) {
            String bridge = entry.trim();
            if (!bridge.matches("pci[0-9a-f]{4}:[0-9a-f]{2}")) {
                throw new IllegalArgumentException("'" + bridge + "' is not a root complex name like pci0000:00 (see /sys/devices)");
            }
            bridges.add(bridge);
        }
        return Set.copyOf(bridges);
    }

    private <T> Optional<T> pinned(String key, Function<String, T> parser) {
        Optional<String> value = settings.get(key);
        try {
            return value.map(parser);
        } catch (IllegalArgumentException e) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL,
                    Finding.error("CONFIG-INVALID", key, "'" + value.orElse("") + "' is not valid: " + e.getMessage()));
        }
    }

    private static <T> T fromMachine(String key, Supplier<T> reader) {
        try {
            return reader.get();
        } catch (RuntimeException | LinkageError e) {
            throw unknown(key, e.getMessage());
        }
    }

    private static VfioTuneException unknown(String key, String why) {
        return new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("FACT-UNKNOWN", key,
                "cannot read it from this machine (" + why + "); pin it with --" + key + " or '" + key + "=' in vfio-tune.properties"));
    }

    private static long parsePageSize(String text) {
        long size = Long.parseLong(text.trim());
        if (size < 4096 || Long.bitCount(size) != 1) {
            throw new IllegalArgumentException("a page size is a power of two, at least 4096");
        }
        return size;
    }
}
