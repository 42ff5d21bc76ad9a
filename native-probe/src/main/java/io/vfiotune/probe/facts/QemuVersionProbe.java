package io.vfiotune.probe.facts;

import io.vfiotune.spi.Version;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs {@code EMULATOR --version} and caches the answer by the resolved binary's path, size,
 * mtime, device and inode, because starting QEMU costs more than the rest of a hook run. As
 * root it runs only a binary that is root's alone, as nobody (see {@link #command}), with a
 * time limit ({@link ChildProcess}).
 */
public final class QemuVersionProbe {
    /** QEMU prints its version in milliseconds; a binary that takes this long is not answering. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    private static final Path SETPRIV = Path.of("/usr/bin/setpriv");
    /** "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u7)", as every QEMU system emulator prints it. */
    private static final Pattern QEMU_VERSION_LINE = Pattern.compile("(?m)^QEMU emulator version (\\d+\\.\\d+(?:\\.\\d+)?)");
    private static final String CACHE_FILE = "qemu-versions.properties";

    private final Optional<Path> cacheDirectory;
    private final Duration timeout;

    public QemuVersionProbe(Optional<Path> cacheDirectory) {
        this(cacheDirectory, DEFAULT_TIMEOUT);
    }

    public QemuVersionProbe(Optional<Path> cacheDirectory, Duration timeout) {
        this.cacheDirectory = cacheDirectory;
        this.timeout = timeout;
    }

    public Version version(Path emulator) {
        Path binary;
        BasicFileAttributes attributes;
        List<String> command;
        try {
            // The binary is judged (and cached) by what the path resolves to, before any cache is read:
            // a link a user controls could otherwise borrow the entry of a binary root owns.
            binary = emulator.toRealPath();
            attributes = Files.readAttributes(binary, BasicFileAttributes.class);
            command = command(emulator, binary);
        } catch (IOException e) {
            throw new IllegalStateException("emulator " + emulator + " cannot be read: " + e.getMessage(), e);
        }
        String key = binary.toString();
        String stamp = attributes.size() + ":" + attributes.lastModifiedTime().toMillis() + ":" + attributes.fileKey();
        Properties cache = loadCache();
        String cached = cache.getProperty(key);
        if (cached != null && cached.startsWith(stamp + ":")) {
            return Version.parse(cached.substring(stamp.length() + 1));
        }
        Version version = run(emulator, command);
        cache.setProperty(key, stamp + ":" + version);
        storeCache(cache);
        return version;
    }

    private Version run(Path emulator, List<String> command) {
        try {
            ChildProcess.Result result = ChildProcess.run(command, Optional.of(Map.of("PATH", "/usr/bin:/bin")), timeout, 64 * 1024);
            String text = new String(result.output(), StandardCharsets.UTF_8);
            // Only QEMU's own line, from a run that succeeded: anything else (setpriv's "failed to
            // execute PATH", a script's output) may hold a number that is no QEMU version.
            Matcher line = QEMU_VERSION_LINE.matcher(text);
            if (result.status() != 0 || !line.find()) {
                throw new IllegalStateException(emulator + " --version " + (result.status() != 0 ? "failed (exit " + result.status() + ")" : "printed no QEMU version line")
                        + ": " + text.strip().lines().findFirst().orElse("no output"));
            }
            return Version.find(line.group(1)).orElseThrow(() -> new IllegalStateException(emulator + " --version printed no version"));
        } catch (ChildProcess.TimedOut e) {
            throw new IllegalStateException(emulator + " --version did not finish in " + timeout.toMillis() + " ms; it was killed", e);
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + emulator + " --version: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + emulator + " --version", e);
        }
    }

    /**
     * How {@code EMULATOR --version} is run. The path comes from the domain's XML, which may be a
     * tenant's, and the hook runs as root: as root, only a binary that root owns and no one else
     * can change (nor any directory above it) is run, and it runs as nobody (uid and gid 65534, no
     * supplementary groups, no new privileges) with an empty environment but PATH. libvirt runs
     * the emulator as the qemu user itself.
     */
    private static List<String> command(Path emulator, Path binary) throws IOException {
        if (!runningAsRoot()) {
            return List.of(binary.toString(), "--version");
        }
        Optional<String> notRootsAlone = notRootsAlone(binary);
        if (notRootsAlone.isPresent()) {
            throw new IllegalStateException("the domain's emulator " + emulator + " is not run as root: " + notRootsAlone.get());
        }
        if (!Files.isExecutable(SETPRIV)) {
            throw new IllegalStateException("the domain's emulator " + emulator + " is not run as root, and " + SETPRIV + " (util-linux) is missing to run it as nobody");
        }
        return List.of(SETPRIV.toString(), "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs", "--", binary.toString(), "--version");
    }

    /**
     * Why {@code path} (with no links in it) is not root's alone, or empty when root owns it and
     * every directory above it and no one else can write any of them. A sticky directory of root's
     * (/tmp) counts: no one else can replace what root put in it.
     */
    private static Optional<String> notRootsAlone(Path path) throws IOException {
        for (Path part = path; part != null; part = part.getParent()) {
            PosixFileAttributes attributes = Files.readAttributes(part, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            Set<PosixFilePermission> permissions = attributes.permissions();
            boolean othersWrite = permissions.contains(PosixFilePermission.GROUP_WRITE) || permissions.contains(PosixFilePermission.OTHERS_WRITE);
            if ((int) Files.getAttribute(part, "unix:uid", LinkOption.NOFOLLOW_LINKS) != 0 || othersWrite && !(part != path && isSticky(part))) {
                return Optional.of(part + " is not root's alone (owner " + attributes.owner().getName() + ", mode " + PosixFilePermissions.toString(permissions) + ")");
            }
        }
        return Optional.empty();
    }

    /** As root, a cache only root can write: anyone else could make it name a version or plant files beside it. */
    private Optional<Path> trustedCacheDirectory() {
        try {
            if (cacheDirectory.isEmpty() || !runningAsRoot() || !Files.isDirectory(cacheDirectory.get())) {
                return cacheDirectory;
            }
            return notRootsAlone(cacheDirectory.get().toRealPath()).isEmpty() ? cacheDirectory : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static boolean isSticky(Path directory) throws IOException {
        return ((int) Files.getAttribute(directory, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 01000) != 0;
    }

    /** The effective uid, as the kernel shows it for this process. */
    private static boolean runningAsRoot() throws IOException {
        return (int) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0;
    }

    private Properties loadCache() {
        Properties cache = new Properties();
        trustedCacheDirectory().map(directory -> directory.resolve(CACHE_FILE)).filter(Files::isRegularFile).ifPresent(file -> {
            try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                cache.load(reader);
            } catch (IOException | IllegalArgumentException e) {
                cache.clear(); // a damaged cache is only a slower run
            }
        });
        return cache;
    }

    private void storeCache(Properties cache) {
        if (cacheDirectory.isEmpty()) {
            return;
        }
        try {
            Files.createDirectories(cacheDirectory.get());
            Optional<Path> trusted = trustedCacheDirectory();
            if (trusted.isEmpty()) {
                return;
            }
            Path directory = trusted.get();
            // Write then rename, so concurrent hook runs never read half a file.
            Path temporary = Files.createTempFile(directory, CACHE_FILE, ".tmp");
            try (Writer writer = Files.newBufferedWriter(temporary, StandardCharsets.UTF_8)) {
                cache.store(writer, "vfio-tune: QEMU versions by path, size and mtime");
            }
            Files.move(temporary, directory.resolve(CACHE_FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // Not being able to cache is not an error: the next run asks QEMU again.
        }
    }
}
