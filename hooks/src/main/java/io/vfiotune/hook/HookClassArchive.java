package io.vfiotune.hook;

import io.vfiotune.probe.fixture.Directories;
import io.vfiotune.probe.fixture.HostFixture;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * An AppCDS archive for the hook's JVM: the classes one whole plan loads
 * (about 3,400, mostly XML, JAXB, Guice and picocli), dumped by a training run
 * on the bundled demo so the hook maps them instead of parsing them. A dynamic
 * archive only fits the exact JVM and class path it was made with, so it is
 * made at install time, for the class path the launcher bakes in, and named by
 * a hash of both and of every jar's size and time: a rebuilt jar gets a new
 * archive instead of a silently refused one.
 */
public final class HookClassArchive {
    /** The JVM flags of the hook; the training run must use the same ones. */
    public static final List<String> JVM_FLAGS = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss4m",
            // Guice otherwise generates bytecode for every constructor (which no archive can hold) and records a
            // stack trace per binding; for a process that plans one domain, reflection is faster (measured: -26 ms).
            "-Dguice_bytecode_gen_option=DISABLED", "-Dguice_include_stack_traces=OFF",
            // JNA unpacks its native part for each process; by default into ~/.cache/JNA, which would stay behind
            // in root's home after the package is purged. /tmp is cleaned by the system, and JNA removes its copy.
            "-Djna.tmpdir=/tmp",
            // No hsperfdata file in /tmp/hsperfdata_root: nothing of the hook's in a world-writable directory, and
            // a JVM of another PID namespace with the same pid (a container sharing /tmp) holds that file locked,
            // which the JVM reports on stderr, where libvirt shows it as the hook's error.
            "-XX:-UsePerfData",
            // JVM warnings (a refused archive, say) go to stderr: the restore filter's stdout is the domain XML.
            "-Xlog:disable", "-Xlog:all=warning:stderr");

    private final Path home;
    private final String java;
    private final String classPath;
    private final Path cacheDirectory;

    public HookClassArchive(Path home, String java, String classPath, Path cacheDirectory) {
        this.home = home;
        this.java = java;
        this.classPath = classPath;
        this.cacheDirectory = cacheDirectory;
    }

    /** The archive for this JVM and class path, made now when missing; empty (with the reason) when it cannot be made. */
    public Result ensure() {
        Path archive;
        try {
            archive = cacheDirectory.resolve("hook-" + fingerprint() + ".jsa");
        } catch (IOException e) {
            return new Result(Optional.empty(), "no class archive: cannot read the class path (" + e.getMessage() + ")");
        }
        // An archive that is there but unusable has the same JVM path and jars, but the JVM on disk changed under
        // it (a JRE update in place, or a regenerated base archive): the JVM would drop it silently, so make it again.
        boolean stale = Files.isRegularFile(archive);
        if (stale && usable(archive)) {
            return new Result(Optional.of(archive), "class archive " + archive);
        }
        try {
            Files.deleteIfExists(ClassArchiveCheck.marker(archive)); // a new archive earns a new notice if it goes stale
        } catch (IOException e) {
            return new Result(Optional.empty(), "no class archive: " + e.getMessage());
        }
        Path demo = home.resolve("src/demo");
        Path training = null;
        try {
            Path host = demo.resolve(Files.readString(demo.resolve("host.ref"), StandardCharsets.UTF_8).strip()).normalize();
            Files.createDirectories(cacheDirectory);
            training = Files.createTempDirectory("vfio-tune-cds");
            Path sysfs = HostFixture.load(host).materialize(Files.createDirectory(training.resolve("sysfs")));
            Path config = Files.writeString(training.resolve("vfio-tune.properties"), "sysfs-root=" + sysfs + "\n");
            Path dumped = training.resolve("hook.jsa");
            List<String> command = new ArrayList<>(List.of(java, "-XX:ArchiveClassesAtExit=" + dumped));
            command.addAll(JVM_FLAGS);
            command.addAll(List.of("-cp", classPath, "io.vfiotune.cli.Main", "hook", "vfio-tune-training", "prepare", "begin", "-"));
            ProcessBuilder builder = new ProcessBuilder(command).redirectInput(demo.resolve("domain.xml").toFile())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(training.resolve("stderr").toFile());
            builder.environment().put("VFIO_TUNE_CONFIG", config.toString());
            Process process = builder.start();
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return new Result(Optional.empty(), "no class archive: the training run took over 120 s");
            }
            if (!Files.isRegularFile(dumped)) {
                // CDS takes classes from jars only; a class path with class directories (a test run) gets none.
                String why = Files.readAllLines(training.resolve("stderr")).stream().filter(line -> line.contains("[cds") || line.contains("Error"))
                        .map(line -> line.replaceFirst("^\\[[^]]*\\]\\[[^]]*\\]\\[[^]]*\\]\\s*", "")).findFirst().orElse("the JVM wrote none");
                return new Result(Optional.empty(), "no class archive (" + why + "); the hook runs without one");
            }
            Path temporary = Files.createTempFile(cacheDirectory, ".hook", ".jsa.tmp");
            Files.move(dumped, temporary, StandardCopyOption.REPLACE_EXISTING);
            Files.move(temporary, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return new Result(Optional.of(archive), (stale ? "remade class archive (the JVM no longer used the old one) " : "made class archive ") + archive);
        } catch (IOException e) {
            return new Result(Optional.empty(), "no class archive: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(Optional.empty(), "no class archive: interrupted");
        } finally {
            if (training != null) {
                try {
                    Directories.deleteTree(training);
                } catch (IOException e) {
                    // A leftover temporary directory is not worth failing the install for.
                }
            }
        }
    }

    /**
     * Whether this JVM still maps the archive: with -Xshare:on a JVM that cannot use
     * it refuses to start, where the hook's -Xshare:auto would carry on without it.
     */
    private boolean usable(Path archive) {
        List<String> command = new ArrayList<>(List.of(java, "-Xshare:on", "-XX:SharedArchiveFile=" + archive));
        command.addAll(JVM_FLAGS);
        command.addAll(List.of("-cp", classPath, "-version"));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return false;
            }
            return process.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static List<Path> jarsIn(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(file -> file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".jar")).sorted().toList();
        }
    }

    private String fingerprint() throws IOException {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update((java + "\n" + classPath + "\n").getBytes(StandardCharsets.UTF_8));
            for (String entry : classPath.split(File.pathSeparator)) {
                // A directory's wildcard (the package's lib/*) stands for its jars, as the JVM expands it.
                List<Path> paths = entry.endsWith(File.separator + "*") ? jarsIn(Path.of(entry.substring(0, entry.length() - 2))) : List.of(Path.of(entry));
                for (Path path : paths) {
                    if (Files.isRegularFile(path)) {
                        digest.update((path.getFileName() + ":" + Files.size(path) + ":" + Files.getLastModifiedTime(path).toMillis() + "\n").getBytes(StandardCharsets.UTF_8));
                    }
                }
            }
            return HexFormat.of().formatHex(digest.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    public record Result(Optional<Path> archive, String message) {
    }
}
