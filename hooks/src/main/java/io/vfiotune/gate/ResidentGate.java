package io.vfiotune.gate;

import io.vfiotune.hook.ShellWords;
import io.vfiotune.hook.SyslogTee;
import io.vfiotune.planning.Console;
import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.spi.Finding;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The resident answer to the hook's {@code prepare begin}: the warm JVM of
 * {@code watch} (or of {@code gate-service}) judges gate questions with the
 * hook's own code (a {@link GateSpool.Judge} the command line gives it), and the
 * installed launcher asks it (in shell, without a JVM) before it starts the full application.
 */
public final class ResidentGate {
    /** {@code gate-directory = off} turns the resident gate off; the hook then always plans in process. */
    static final String OFF = "off";
    /** How long the launcher waits for an answer, in whole seconds (POSIX sleep); a warm gate answers in tens of ms. */
    static final int BUDGET_SECONDS = 1;

    /** An annotated domain with no devices: it runs the gate's whole machinery (Guice, JAXB, XSD, the planner) and touches no device or emulator. */
    private static final byte[] WARM_UP_DOMAIN = ("<domain type='kvm'><name>vfio-tune-warm-up</name><memory>1048576</memory><os><type arch='x86_64'>hvm</type></os>"
            + "<metadata><vt:tune xmlns:vt='urn:vfio-tune:1'><vt:cliques mode='auto'/><vt:msix-relocation mode='auto'/></vt:tune></metadata>"
            + "<devices/></domain>").getBytes(StandardCharsets.UTF_8);

    private ResidentGate() {
    }

    /** The spool the hook asks in and the service answers in, or empty when the configuration turns it off. */
    static Optional<Path> directory(HostSettings settings) {
        String value = settings.get(HostSettings.GATE_DIRECTORY).orElse(HostSettings.DEFAULT_GATE_DIRECTORY.toString()).strip();
        return value.equals(OFF) || value.isEmpty() ? Optional.empty() : Optional.of(Path.of(value).toAbsolutePath().normalize());
    }

    /** The findings of a delivered verdict to syslog, when the hook's configuration asks for it, as the hook's own JVM records them. */
    public static void recordInSyslog(String config, GateSpool.Verdict verdict) {
        if (verdict.findings().isEmpty() || !SyslogTee.requested(hookEnvironment(config))) {
            return;
        }
        PrintStream tee = SyslogTee.wrap(OutputStream.nullOutputStream(), io.vfiotune.probe.facts.SystemLog.open());
        tee.print(verdict.findings());
        tee.flush();
    }

    /** The environment libvirt leaves the hook: only the configuration file it names. */
    public static Map<String, String> hookEnvironment(String config) {
        return config.isEmpty() ? Map.of() : Map.of(HostSettings.CONFIG_ENVIRONMENT_VARIABLE, config);
    }

    /** Starts answering in the configured spool; a gate that cannot start is a warning, never the end of the service. */
    public static Optional<GateSpool> start(Console console, GateSpool.Judge judge) {
        Optional<Path> directory;
        try {
            directory = directory(HostSettings.load(Map.of(), console.environment()));
        } catch (RuntimeException e) {
            warn(console, HostSettings.DEFAULT_GATE_DIRECTORY, "no resident gate: the configuration cannot be read (" + e.getMessage() + ")");
            return Optional.empty();
        }
        if (directory.isEmpty()) {
            return Optional.empty();
        }
        try {
            GateSpool gate = GateSpool.startWarm(directory.get(), judge, problem -> warn(console, directory.get(), problem),
                    console.environment().getOrDefault(HostSettings.CONFIG_ENVIRONMENT_VARIABLE, ""), WARM_UP_DOMAIN);
            console.out().println("vfio-tune: answering gate questions in " + gate.directory() + " once warm");
            console.out().flush();
            return Optional.of(gate);
        } catch (IOException | RuntimeException e) {
            warn(console, directory.get(), "no resident gate (" + e.getMessage() + "); the hook plans in process");
            return Optional.empty();
        }
    }

    private static void warn(Console console, Path directory, String message) {
        synchronized (console.err()) {
            console.err().println(Finding.warning("GATE-SERVICE", directory.toString(), message).format());
            console.err().flush();
        }
    }

    /**
     * The launcher lines that ask the resident gate first, for {@code prepare begin}
     * only: its answer is a verdict, never XML that libvirt would use. They
     * need {@code $xml} (the buffered domain) and run only when a live gate
     * announced itself; they end the hook with the answer's status (0 or 2)
     * only when the answer carries the SHA-256 of this very question, and fall
     * through to the full plan below them on anything else: no gate, no
     * answer within the budget, a garbled answer, or no coreutils to check it.
     */
    public static String launcherLines(HostSettings settings) {
        Optional<Path> directory = directory(settings);
        if (directory.isEmpty()) {
            return "";
        }
        return """
                gate=%1$s
                # A live gate: the process with the announced pid started when the gate did (a reused pid did not).
                gate_is_live() {
                    read -r gate_stat < "/proc/$1/stat" || return 1
                    set -- "$2" ${gate_stat##*") "}
                    [ -n "$1" ] && [ "${21:-}" = "$1" ]
                }
                if [ "$2/$3" = prepare/begin ] && [ -f "$gate/%2$s" ] && read -r gate_pid gate_started 2>/dev/null < "$gate/%2$s" \\
                    && gate_is_live "$gate_pid" "$gate_started" 2>/dev/null && question=$(mktemp -d "$gate/.q.XXXXXX" 2>/dev/null); then
                    trap 'rm -rf "$question"' EXIT
                    # "command exec": a bare exec whose redirection fails ends sh with status 2, which libvirt would take for a refusal.
                    if printf '%3$s\\n%%s\\n%%s\\n' "$1" "${VFIO_TUNE_CONFIG:-}" > "$question/question" && printf '%%s' "$xml" > "$question/domain.xml" \\
                        && mkfifo -m 600 "$question/answer" && sum=$(cat "$question/question" "$question/domain.xml" | sha256sum) \\
                        && command exec 3<>"$question/answer" && mv "$question" "$gate/q.${question##*/.q.}"; then
                        question="$gate/q.${question##*/.q.}"
                        # The reply stays in the question's own directory (root's, 0700): a name in /tmp could be
                        # guessed and made a FIFO or file by another user, who would then write the verdict.
                        (while IFS= read -r line; do printf '%%s\\n' "$line"; [ "$line" = '%4$s' ] && exit 0; done; exit 1) <&3 > "$question/reply" &
                        reader=$!
                        (sleep %5$d; kill "$reader") </dev/null >/dev/null 2>&1 &
                        watchdog=$!
                        # wait's stderr to /dev/null: dash would print "Terminated" for a reader the watchdog ended, and libvirt shows a hook's stderr.
                        if wait "$reader" 2>/dev/null; then
                            kill "$watchdog" 2>/dev/null
                            head=$(sed -n 1p "$question/reply")
                            findings=$(sed '1d;$d' "$question/reply")
                            case $head in
                                "vfio-tune-gate 1 ${sum%%%% *} 0") status=0 ;;
                                "vfio-tune-gate 1 ${sum%%%% *} 2") status=2 ;;
                                *) status= ;;
                            esac
                            # Every line a finding, and a refusal says why: anything else is not a verdict.
                            if [ -n "$status" ] && { [ -z "$findings" ] && [ "$status" = 0 ] || { [ -n "$findings" ] && ! printf '%%s\\n' "$findings" | grep -qv '^vfio-tune: '; }; }; then
                                [ -z "$findings" ] || printf '%%s\\n' "$findings" >&2
                                exit "$status"
                            fi
                        fi
                        kill "$watchdog" 2>/dev/null
                    fi
                    # Given up: the question goes now, not at exit after the JVM's plan, so a late answer finds
                    # no FIFO and the gate does not count (or log) a verdict that the JVM gives again.
                    exec 3<&-
                    rm -rf "$question"
                fi
                """.formatted(ShellWords.quote(directory.get().toString()), GateSpool.PID_FILE, GateQuestion.QUESTION_HEADER, GateQuestion.END, BUDGET_SECONDS);
    }
}
