package io.vfiotune.hook;

import io.vfiotune.probe.facts.HostSettings;
import io.vfiotune.probe.facts.SystemLog;
import io.vfiotune.spi.Severity;
import java.util.Map;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * stderr as before, and every finding line also to syslog. Findings are
 * printed in one place per command; teeing the stream catches all of them,
 * including the refusals Main prints for exceptions.
 */
public final class SyslogTee extends OutputStream {
    private static final Pattern FINDING = Pattern.compile("^vfio-tune: (error|warning|info) (\\[.*)$");

    private final OutputStream stderr;
    private final SystemLog log;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    private SyslogTee(OutputStream stderr, SystemLog log) {
        this.stderr = stderr;
        this.log = log;
    }

    /** The config file's {@code syslog} key; a config that cannot be read is reported by the command itself. */
    public static boolean requested(Map<String, String> environment) {
        try {
            return HostSettings.load(Map.of(), environment).get(HostSettings.SYSLOG).filter("yes"::equals).isPresent();
        } catch (RuntimeException e) {
            return false;
        }
    }

    public static PrintStream wrap(OutputStream stderr, SystemLog log) {
        return new PrintStream(new SyslogTee(stderr, log), true, StandardCharsets.UTF_8);
    }

    @Override
    public synchronized void write(int b) throws IOException {
        stderr.write(b);
        if (b == '\n') {
            forward();
        } else {
            line.write(b);
        }
    }

    @Override
    public synchronized void flush() throws IOException {
        stderr.flush();
    }

    private void forward() {
        Matcher matcher = FINDING.matcher(line.toString(StandardCharsets.UTF_8));
        line.reset();
        if (matcher.matches()) {
            log.log(Severity.valueOf(matcher.group(1).toUpperCase(Locale.ROOT)), matcher.group(2));
        }
    }
}
