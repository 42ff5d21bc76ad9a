package io.vfiotune.probe.facts;

import static java.util.Objects.requireNonNull;

import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * The pinned host facts and settings, merged from (weakest first) the config
 * file, a fixture's {@code facts.properties}, and command-line options. A key
 * that no source sets is read from the machine.
 */
public final class HostSettings {
    public static final String SYSFS_ROOT = "sysfs-root";
    public static final String ARCH = "arch";
    public static final String PAGE_SIZE = "page-size";
    public static final String LIBVIRT_VERSION = "libvirt-version";
    public static final String QEMU_VERSION = "qemu-version";
    /** Where the QEMU version cache lives; default {@code /var/cache/vfio-tune}. */
    public static final String CACHE_DIRECTORY = "cache-directory";
    /**
     * Root complexes (as sysfs names them, {@code pci0000:00}) whose host bridges
     * forward peer-to-peer traffic between their root ports; GPUs below two
     * different root ports share a derived clique only when both are listed.
     */
    public static final String P2P_HOST_BRIDGES = "p2p-host-bridges";
    /**
     * Upstream QEMU changes this host's QEMU carries although its version
     * predates them, comma-separated by their {@link io.vfiotune.spi.QemuBackport}
     * names ({@code gpudirect-clique-d4}); version gates then let them through.
     */
    public static final String QEMU_BACKPORTS = "qemu-backports";
    /** Site additions to the known-good MSI-X relocation table: {@code 126f:2262=bar2,10de:1eb8=bar5}. */
    public static final String MSIX_RELOCATION_TABLE = "msix-relocation-table";
    /**
     * The device memory of this host's Grace GPUs ({@code 0009:01:00.0=96G} per function, or
     * {@code 10de:2941=186G} per device ID; binary units K, M, G, T): ACPI gives it to the
     * nvgrace-gpu driver, which presents it through VFIO only, so sysfs cannot tell it.
     */
    public static final String GRACE_DEVICE_MEMORY = "grace-device-memory";

    /**
     * Site transforms: Guice module class names, comma-separated, loaded from the
     * class path by name (never scanned); each binds its transforms with
     * {@code TransformBindings.bindTransform}.
     */
    public static final String TRANSFORM_MODULES = "transform-modules";
    /**
     * The host policy file (rules giving annotations to domains that have none of their own);
     * default {@code /etc/vfio-tune/policy.xml}, used when it exists. A file named here must exist.
     */
    public static final String POLICY_FILE = "policy-file";
    public static final Path DEFAULT_POLICY = Path.of("/etc/vfio-tune/policy.xml");
    /** {@code yes}: every finding also goes to syslog (ident vfio-tune, facility daemon); default {@code no}. */
    public static final String SYSLOG = "syslog";

    /**
     * The resident gate's spool directory (root-only): the watch service answers the hook's {@code prepare begin}
     * there, and the installed hook asks it first; {@code off} turns that off. Default {@code /run/vfio-tune/gate}.
     */
    public static final String GATE_DIRECTORY = "gate-directory";
    public static final Path DEFAULT_GATE_DIRECTORY = Path.of("/run/vfio-tune/gate");

    /**
     * Seconds the installed hook gives its JVM before it stops it and fails the start (libvirt
     * itself waits for a hook without limit); 1 to 3600, default 60. Baked in by install-hook.
     */
    public static final String HOOK_TIME_LIMIT = "hook-time-limit";
    public static final int DEFAULT_HOOK_TIME_LIMIT = 60;

    public static final Path DEFAULT_CONFIG = Path.of("/etc/vfio-tune/vfio-tune.properties");
    public static final String CONFIG_ENVIRONMENT_VARIABLE = "VFIO_TUNE_CONFIG";

    private static final Set<String> KNOWN_KEYS = Set.of(SYSFS_ROOT, ARCH, PAGE_SIZE, LIBVIRT_VERSION, QEMU_VERSION, CACHE_DIRECTORY, P2P_HOST_BRIDGES, MSIX_RELOCATION_TABLE,
            GRACE_DEVICE_MEMORY, QEMU_BACKPORTS, POLICY_FILE, TRANSFORM_MODULES, SYSLOG, GATE_DIRECTORY, HOOK_TIME_LIMIT);

    private final Map<String, String> values;

    /** Every key a config file may hold, sorted; the packaged conffile explains each one (a test holds it to that). */
    public static java.util.List<String> knownKeys() {
        return KNOWN_KEYS.stream().sorted().toList();
    }

    private HostSettings(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(new TreeMap<>(values));
    }

    public static HostSettings of(Map<String, String> values) {
        values.keySet().forEach(key -> checkKnown(key, "settings"));
        return new HostSettings(values);
    }

    /**
     * Loads the settings the way the hook and the CLI do.
     *
     * @param options values given on the command line (FACTS options), which win
     * @param environment the process environment, for {@code VFIO_TUNE_CONFIG}
     */
    public static HostSettings load(Map<String, String> options, Map<String, String> environment) {
        Map<String, String> merged = new TreeMap<>();
        String configured = environment.get(CONFIG_ENVIRONMENT_VARIABLE);
        Path configFile = configured != null && !configured.isEmpty() ? Path.of(configured) : DEFAULT_CONFIG;
        if (configured != null && !configured.isEmpty() && !Files.isRegularFile(configFile)) {
            throw configError(configFile, "the file named by " + CONFIG_ENVIRONMENT_VARIABLE + " does not exist");
        }
        if (Files.isRegularFile(configFile)) {
            merged.putAll(readProperties(configFile));
        }
        String root = options.getOrDefault(SYSFS_ROOT, merged.getOrDefault(SYSFS_ROOT, "/"));
        Path fixtureFacts = Path.of(root).resolve("facts.properties");
        if (!root.equals("/") && Files.isRegularFile(fixtureFacts)) {
            merged.putAll(readProperties(fixtureFacts));
        }
        options.keySet().forEach(key -> checkKnown(key, "options"));
        merged.putAll(options);
        merged.put(SYSFS_ROOT, root);
        return new HostSettings(merged);
    }

    public Optional<String> get(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public Path sysfsRoot() {
        return Path.of(values.getOrDefault(SYSFS_ROOT, "/"));
    }

    /**
     * The host policy file in effect: the configured one (which must then exist;
     * loading it says so), else the default one when it exists, else none. The
     * installed launcher's shell makes the same decision before it starts a JVM.
     */
    public Optional<Path> policyFile() {
        Optional<String> configured = get(POLICY_FILE).filter(value -> !value.isBlank());
        if (configured.isPresent()) {
            return Optional.of(Path.of(configured.get()));
        }
        return Files.exists(DEFAULT_POLICY) ? Optional.of(DEFAULT_POLICY) : Optional.empty();
    }

    public Map<String, String> asMap() {
        return values;
    }

    private static Map<String, String> readProperties(Path file) {
        Properties properties = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            properties.load(reader);
        } catch (IOException | IllegalArgumentException e) {
            throw configError(file, "cannot be read: " + e.getMessage());
        }
        Map<String, String> result = new TreeMap<>();
        for (String key : properties.stringPropertyNames()) {
            checkKnownIn(key, file);
            String value = properties.getProperty(key).trim();
            if (key.equals(SYSLOG) && !value.equals("yes") && !value.equals("no")) {
                throw configError(file, "syslog must be yes or no, not '" + value + "'");
            }
            if (key.equals(HOOK_TIME_LIMIT) && !value.matches("[1-9][0-9]{0,3}") || key.equals(HOOK_TIME_LIMIT) && Integer.parseInt(value) > 3600) {
                throw configError(file, "hook-time-limit must be a whole number of seconds from 1 to 3600, not '" + value + "'");
            }
            result.put(key, value);
        }
        return result;
    }

    private static void checkKnownIn(String key, Path file) {
        if (!KNOWN_KEYS.contains(key)) {
            throw configError(file, "unknown key '" + key + "'; known keys: " + String.join(", ", KNOWN_KEYS.stream().sorted().toList()));
        }
    }

    private static void checkKnown(String key, String where) {
        requireNonNull(key, "key is null");
        if (!KNOWN_KEYS.contains(key)) {
            throw new IllegalArgumentException("unknown setting '" + key + "' in " + where);
        }
    }

    private static VfioTuneException configError(Path file, String message) {
        return new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("CONFIG-INVALID", file.toString(), message));
    }
}
