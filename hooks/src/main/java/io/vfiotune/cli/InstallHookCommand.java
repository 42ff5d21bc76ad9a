package io.vfiotune.cli;

import io.vfiotune.gate.ResidentGate;
import io.vfiotune.hook.ClassArchiveCheck;
import io.vfiotune.hook.HookClassArchive;
import io.vfiotune.hook.ShellWords;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;
import io.vfiotune.wiring.ProbeModule;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Installs the hook as a small POSIX shell launcher in libvirt's {@code qemu.d},
 * then SIGHUPs libvirtd/virtqemud so they notice it. The launcher starts no JVM
 * for the operations that need no work, nor for a domain without the
 * vfio-tune namespace; that is what keeps every VM start cheap.
 */
@Command(name = "install-hook", description = "Install (or --uninstall) the hook launcher as /etc/libvirt/hooks/qemu.d/50-vfio-tune and reload libvirt.")
public final class InstallHookCommand implements Callable<Integer> {
    public static final String HOOK_NAME = "50-vfio-tune";

    @ParentCommand
    Main main;

    static final Path LIBVIRT_HOOKS_DIRECTORY = Path.of("/etc/libvirt/hooks/qemu.d");

    @Option(names = "--hooks-dir", paramLabel = "DIR", description = "Install into DIR instead of libvirt's qemu.d (/etc/libvirt/hooks/qemu.d); libvirt is then not signalled.")
    Path hooksDirectory = LIBVIRT_HOOKS_DIRECTORY;

    @Option(names = "--config", paramLabel = "FILE", description = "Make the hook read FILE instead of /etc/vfio-tune/vfio-tune.properties.")
    Path config;

    @Option(names = "--uninstall", description = "Remove the hook.")
    boolean uninstall;

    @Option(names = "--no-class-archive", description = "Do not make the AppCDS archive that speeds up the hook's JVM.")
    boolean noClassArchive;

    static final Path VDSM_HOOKS_DIRECTORY = Path.of("/usr/libexec/vdsm/hooks/before_vm_start");
    static final String VDSM_HOOK_NAME = "50_vfio_tune";
    static final String KUBEVIRT_HOOK_NAME = "onDefineDomain";

    @Option(names = "--vdsm", description = "Install (or remove) oVirt VDSM's before_vm_start hook instead, as " + VDSM_HOOK_NAME + " in --vdsm-hooks-dir.")
    boolean vdsm;

    @Option(names = "--vdsm-hooks-dir", paramLabel = "DIR", description = "VDSM's before_vm_start directory (default /usr/libexec/vdsm/hooks/before_vm_start).")
    Path vdsmHooksDirectory = VDSM_HOOKS_DIRECTORY;

    @Option(names = "--kubevirt-shim", paramLabel = "DIR", description = "Write (or remove) KubeVirt's sidecar hook instead, as DIR/" + KUBEVIRT_HOOK_NAME
            + " (a directory on the sidecar image's PATH, e.g. /usr/bin).")
    Path kubevirtShimDirectory;

    /** Where a hook goes and what it is: libvirt's (the default), VDSM's or KubeVirt's sidecar's. */
    private enum Target {
        LIBVIRT, VDSM, KUBEVIRT
    }

    @Override
    public Integer call() {
        if (vdsm && kubevirtShimDirectory != null) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("USAGE", "install-hook", "--vdsm and --kubevirt-shim install different hooks; give one"));
        }
        Target target = vdsm ? Target.VDSM : kubevirtShimDirectory != null ? Target.KUBEVIRT : Target.LIBVIRT;
        Path directory = switch (target) {
            case LIBVIRT -> hooksDirectory;
            case VDSM -> vdsmHooksDirectory;
            case KUBEVIRT -> kubevirtShimDirectory;
        };
        Path hook = directory.resolve(switch (target) {
            case LIBVIRT -> HOOK_NAME;
            case VDSM -> VDSM_HOOK_NAME;
            case KUBEVIRT -> KUBEVIRT_HOOK_NAME;
        });
        try {
            String state;
            if (uninstall) {
                state = Files.deleteIfExists(hook) ? "removed " + hook : "not installed: " + hook;
            } else {
                Optional<Path> archive = classArchive();
                String launcher = switch (target) {
                    case LIBVIRT -> launcher(archive);
                    case VDSM -> adapterLauncher(archive, "oVirt VDSM before_vm_start hook", "vdsm-before-vm-start");
                    case KUBEVIRT -> adapterLauncher(archive, "KubeVirt sidecar hook (run by sidecar-shim)", "kubevirt-on-define-domain \"$@\"");
                };
                if (Files.isRegularFile(hook) && Files.readString(hook, StandardCharsets.UTF_8).equals(launcher)) {
                    state = "already installed: " + hook;
                } else {
                    Files.createDirectories(directory);
                    // Written beside the target and renamed, so no stack ever runs a half-written hook.
                    Path temporary = Files.createTempFile(directory, ".vfio-tune", ".tmp");
                    Files.writeString(temporary, launcher, StandardCharsets.UTF_8);
                    Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rwxr-xr-x"));
                    Files.move(temporary, hook, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    state = "installed " + hook;
                }
            }
            main.console.out().println("vfio-tune: " + state + (target == Target.LIBVIRT ? "; " + reloadLibvirt() : ""));
            main.console.out().flush();
            return ExitStatus.OK.code();
        } catch (IOException e) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("INSTALL-FAILED", hook.toString(), e.getMessage() + " (run as root)"));
        }
    }

    /** A stack adapter's launcher: every call needs the JVM, so it only bakes in this installation's JVM, flags and class path. */
    private String adapterLauncher(Optional<Path> archive, String what, String command) {
        String configLine = config == null ? "" : "export VFIO_TUNE_CONFIG=" + ShellWords.quote(config.toAbsolutePath().normalize().toString()) + "\n";
        return """
                #!/bin/sh
                # vfio-tune %s, installed by 'vfio-tune install-hook'. Do not edit; reinstall instead.
                %sexec %s %s \\
                    %s -cp %s \\
                    io.vfiotune.cli.Main %s
                """.formatted(what, configLine, ShellWords.quote(java()), jvmFlags(archive), ShellWords.quote("-Dvfio-tune.home=" + home()), ShellWords.quote(classPath()), command);
    }

    private static String jvmFlags(Optional<Path> archive) {
        // The archive is named twice: for the JVM, and for the hook itself, which says once when the JVM dropped it.
        return String.join(" ", HookClassArchive.JVM_FLAGS)
                + archive.map(path -> " " + ShellWords.quote("-XX:SharedArchiveFile=" + path) + " " + ShellWords.quote("-D" + ClassArchiveCheck.PROPERTY + "=" + path)).orElse("");
    }

    private static Path home() {
        return Path.of(System.getProperty(DemoCommand.HOME_PROPERTY, ".")).toAbsolutePath().normalize();
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("/usr/bin/java");
    }

    /**
     * The class path this very process runs with, so the hook runs exactly this build. When that
     * is every jar of one directory (the package's {@code /usr/share/vfio-tune/lib}), the
     * directory's wildcard instead: an upgrade replaces versioned jars at unpack and reinstalls
     * the hook only at configure, and a list of the old names would fail every start in between.
     */
    static String classPath() {
        return versionFree(System.getProperty("java.class.path"));
    }

    static String versionFree(String classPath) {
        List<Path> entries = Arrays.stream(classPath.split(File.pathSeparator)).map(Path::of).toList();
        Path directory = entries.get(0).toAbsolutePath().getParent();
        if (directory == null || !entries.stream().allMatch(entry -> entry.toString().endsWith(".jar") && directory.equals(entry.toAbsolutePath().getParent()))) {
            return classPath;
        }
        try (Stream<Path> jars = Files.list(directory)) {
            Set<Path> all = jars.filter(jar -> jar.toString().endsWith(".jar")).map(Path::toAbsolutePath).collect(Collectors.toSet());
            return all.equals(entries.stream().map(Path::toAbsolutePath).collect(Collectors.toSet())) ? directory.resolve("*").toString() : classPath;
        } catch (IOException e) {
            return classPath;
        }
    }

    private Optional<Path> classArchive() {
        if (noClassArchive) {
            return Optional.empty();
        }
        Path cache = hookSettings().get(HostSettings.CACHE_DIRECTORY).map(Path::of).orElse(ProbeModule.DEFAULT_CACHE);
        HookClassArchive.Result result = new HookClassArchive(home(), java(), classPath(), cache).ensure();
        main.console.out().println("vfio-tune: " + result.message());
        return result.archive();
    }

    /** The settings the installed hook will read: its gate directory is baked into the launcher. */
    private HostSettings hookSettings() {
        Map<String, String> environment = new HashMap<>(main.console.environment());
        if (config != null) {
            environment.put(HostSettings.CONFIG_ENVIRONMENT_VARIABLE, config.toAbsolutePath().toString());
        }
        return HostSettings.load(Map.of(), environment);
    }

    /** The launcher, with this installation's paths baked in: libvirt runs hooks with an empty environment. */
    private String launcher(Optional<Path> archive) {
        Path home = home();
        String java = java();
        String classPath = classPath();
        String configLine = config == null ? "" : "export VFIO_TUNE_CONFIG=" + ShellWords.quote(config.toAbsolutePath().normalize().toString()) + "\n";
        String flags = jvmFlags(archive);
        int timeLimit = hookSettings().get(HostSettings.HOOK_TIME_LIMIT).map(Integer::parseInt).orElse(HostSettings.DEFAULT_HOOK_TIME_LIMIT);
        return """
                #!/bin/sh
                # vfio-tune libvirt hook, installed by 'vfio-tune install-hook'. Do not edit; reinstall instead.
                # Only prepare, migrate and restore at "begin" can need work, and only for a domain that uses
                # the vfio-tune namespace or when a host policy may annotate it; everything else exits here
                # without starting a JVM.
                case "$2/$3" in
                    prepare/begin|migrate/begin|restore/begin) ;;
                    *) exit 0 ;;
                esac
                %s# The domain stays in the shell, never in a file: a temporary file in world-writable /tmp
                # lets any user who fills /tmp fail every start, or empty the copy and let a domain
                # through unchecked. The x keeps the trailing newlines $(...) would drop; a read that
                # fails is a failed hook, never an empty domain. A shell variable cannot hold a NUL, which
                # no XML may contain either: tr makes it 0xFF, which no UTF-8 may contain, so the check
                # below sees what a check of the raw bytes sees, and the JVM refuses such input all the same.
                xml=$(tr '\\000' '\\377' && echo x) || exit 1
                xml=${xml%%x}
                trap 'exit 1' INT TERM
                config=${VFIO_TUNE_CONFIG:-%s}
                if [ ! -f %s ] && ! { [ -f "$config" ] && grep -q '^[[:space:]]*%s[=:[:space:]]' "$config"; }; then
                    case $xml in
                        *urn:vfio-tune:1*) ;;
                        *) exit 0 ;;
                    esac
                fi
                %s# libvirt waits for a hook without limit: the JVM gets %d s, then TERM, then KILL (timeout
                # signals its whole process group, a QEMU the plan waits for too), and the start fails (exit 1)
                # with a finding that says why. The braces' 2>/dev/null keeps the shell's own "Killed" off
                # libvirt's log; the JVM's stderr goes to fd 9, the hook's.
                started=$(date +%%s)
                exec 9>&2
                { printf '%%s' "$xml" 2>/dev/null | timeout -k 5 %d %s %s \\
                    %s -cp %s \\
                    io.vfiotune.cli.Main hook "$@" 2>&9; } 2>/dev/null
                status=$?
                exec 9>&-
                case $status in
                    124|137)
                        # 137 before the limit is a KILL from elsewhere (the kernel's OOM killer), not the limit's.
                        if [ "$status" = 124 ] || [ $(($(date +%%s) - started)) -ge %d ]; then
                            echo "vfio-tune: error [HOOK-TIMEOUT] domain $1: the hook's plan did not finish in %d s and was stopped, so this $2 fails without a verdict; run 'vfio-tune plan' on the domain to see what takes so long (hook-time-limit in vfio-tune.properties)" >&2
                        else
                            echo "vfio-tune: error [HOOK-KILLED] domain $1: the hook's JVM was killed (SIGKILL) before its time limit, so this $2 fails without a verdict; the kernel log says whether it ran out of memory" >&2
                        fi
                        exit 1 ;;
                esac
                exit "$status"
                """.formatted(configLine, ShellWords.quote(HostSettings.DEFAULT_CONFIG.toString()), ShellWords.quote(HostSettings.DEFAULT_POLICY.toString()), HostSettings.POLICY_FILE,
                        ResidentGate.launcherLines(hookSettings()), timeLimit, timeLimit, ShellWords.quote(java), flags, ShellWords.quote("-Dvfio-tune.home=" + home),
                        ShellWords.quote(classPath), timeLimit, timeLimit);
    }

    /**
     * libvirt caches whether hooks exist until SIGHUP. Only the daemons that read this
     * machine's qemu.d are signalled: none for another --hooks-dir, and never a libvirtd
     * in another root or mount namespace (a container's, or a test stack's).
     */
    private String reloadLibvirt() {
        if (!hooksDirectory.toAbsolutePath().normalize().equals(LIBVIRT_HOOKS_DIRECTORY)) {
            return "libvirt not signalled: " + hooksDirectory + " is not its qemu.d";
        }
        List<Long> daemons = new ArrayList<>();
        ProcessHandle.allProcesses().forEach(process -> {
            Optional<String> command = process.info().command();
            if (command.isPresent() && (command.get().endsWith("/libvirtd") || command.get().endsWith("/virtqemud")) && sharesOurRoot(process.pid())) {
                daemons.add(process.pid());
            }
        });
        if (daemons.isEmpty()) {
            return "no libvirtd or virtqemud running; it will see the hook when it starts";
        }
        for (long pid : daemons) {
            try {
                // The shell's own kill: a minimal system (a container, a fresh debootstrap) may have no kill(1) binary (procps).
                Process kill = new ProcessBuilder("/bin/sh", "-c", "kill -HUP \"$1\"", "sh", Long.toString(pid)).redirectErrorStream(true).start();
                kill.waitFor(10, TimeUnit.SECONDS);
            } catch (IOException e) {
                return "could not signal libvirt (" + e.getMessage() + "); restart libvirtd or virtqemud";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted while signalling libvirt";
            }
        }
        return "sent SIGHUP to libvirt (pid " + daemons + ")";
    }

    /**
     * Same root directory (by identity) and same mount namespace. The root is compared as
     * a file, not by the link's text: inside a chroot, the link of a process outside it
     * reads "/" as well, so a package installed into a chroot (postinst runs install-hook
     * there) would otherwise signal the libvirtd of the system around it.
     */
    private static boolean sharesOurRoot(long pid) {
        try {
            Path proc = Path.of("/proc", Long.toString(pid));
            return Files.isSameFile(proc.resolve("root"), Path.of("/proc/self/root"))
                    && Files.readSymbolicLink(proc.resolve("ns/mnt")).equals(Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")));
        } catch (IOException | UnsupportedOperationException e) {
            // Unreadable: not ours to signal.
            return false;
        }
    }
}
