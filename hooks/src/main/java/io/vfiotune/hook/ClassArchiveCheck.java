package io.vfiotune.hook;

import io.vfiotune.probe.facts.SystemLog;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.Severity;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Tells the operator, once, that the hook's JVM is not using its class archive.
 * With {@code -Xshare:auto} the JVM drops an archive it cannot use (made by
 * another build of the JVM, after a JRE security update; or damaged) without a
 * word, and every hook run is then about twice as slow. The launcher names the
 * archive in {@value #PROPERTY}; the archive is in use exactly when the JVM has
 * it mapped, which {@code /proc/self/maps} shows. Once is enough: a marker file
 * next to the archive records that it was said, and rebuilding the archive
 * ({@link HookClassArchive}) removes the marker.
 */
public final class ClassArchiveCheck {
    public static final String PROPERTY = "vfio-tune.class-archive";
    static final String CODE = "CLASS-ARCHIVE-UNUSED";

    private ClassArchiveCheck() {
    }

    /** The marker that says the unused archive was reported. */
    static Path marker(Path archive) {
        return archive.resolveSibling(archive.getFileName() + ".unused-reported");
    }

    /**
     * Checks this JVM against the archive the launcher named, and reports an unused
     * one on stderr and, when {@code alsoToSyslog} (stderr does not go there already), to syslog; once.
     * Syslog is opened only then: JNA costs the common path nothing.
     */
    public static void reportIfUnused(PrintStream err, boolean alsoToSyslog) {
        String named = System.getProperty(PROPERTY);
        if (named == null || named.isEmpty()) {
            return; // no archive was made for this hook (or this is not the installed hook)
        }
        Path archive = Path.of(named);
        if (mapped(archive)) {
            return;
        }
        try {
            Files.createFile(marker(archive));
        } catch (FileAlreadyExistsException e) {
            return; // said already
        } catch (IOException e) {
            // The marker cannot be written (a read-only cache): saying it every time beats never.
        }
        Finding finding = Finding.warning(CODE, archive.toString(), "the hook's JVM does not use its class archive (it was made for another build of "
                + "the JVM, or is missing or damaged), so the hook runs about twice as slowly; run 'vfio-tune install-hook' to rebuild it "
                + "(the Debian package does that whenever a JVM package changes). Said once");
        err.println(finding.format());
        if (alsoToSyslog) {
            SystemLog.open().log(Severity.WARNING, "[" + CODE + "] " + archive + ": " + finding.message());
        }
    }

    /** Whether this process maps the file: HotSpot maps the regions of every archive it uses. */
    static boolean mapped(Path archive) {
        String path;
        try {
            path = archive.toRealPath().toString();
        } catch (IOException e) {
            return false; // gone: certainly not in use
        }
        try {
            List<String> maps = Files.readAllLines(Path.of("/proc/self/maps"));
            return maps.stream().anyMatch(line -> line.endsWith(" " + path));
        } catch (IOException e) {
            return true; // no /proc: nothing to tell, and no reason to cry wolf
        }
    }
}
