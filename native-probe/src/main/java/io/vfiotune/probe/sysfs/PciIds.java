package io.vfiotune.probe.sysfs;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Vendor and device names from the system's {@code pci.ids}, for people reading
 * {@code probe}. Names are decoration: a missing or odd file just gives no name.
 * The file is scanned per lookup and only up to the vendor's block ends, so
 * nothing is held in memory and hook runs, which never print names, never read it.
 */
public final class PciIds {
    /** Where Debian/Ubuntu (pciutils) and Fedora/RHEL (hwdata) install it. */
    public static final List<Path> SYSTEM_LOCATIONS = List.of(Path.of("/usr/share/misc/pci.ids"), Path.of("/usr/share/hwdata/pci.ids"), Path.of("/usr/share/pci.ids"));

    private final Optional<Path> file;

    public PciIds(Optional<Path> file) {
        this.file = file;
    }

    public static PciIds system() {
        return new PciIds(SYSTEM_LOCATIONS.stream().filter(Files::isReadable).findFirst());
    }

    /** "NVIDIA Corporation TU104GL [Tesla T4]", or the vendor name alone, or empty. */
    public Optional<String> name(int vendorId, int deviceId) {
        if (file.isEmpty()) {
            return Optional.empty();
        }
        String vendorKey = String.format(Locale.ROOT, "%04x", vendorId);
        String deviceKey = String.format(Locale.ROOT, "\t%04x", deviceId);
        String vendorName = null;
        try (BufferedReader reader = Files.newBufferedReader(file.get(), StandardCharsets.UTF_8)) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (vendorName == null) {
                    if (line.startsWith(vendorKey + "  ")) {
                        vendorName = line.substring(6).trim();
                    }
                } else if (!line.startsWith("\t") && !line.startsWith("#") && !line.isEmpty()) {
                    break;
                } else if (line.startsWith(deviceKey + "  ")) {
                    return Optional.of(vendorName + " " + line.substring(7).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
        return Optional.ofNullable(vendorName);
    }
}
