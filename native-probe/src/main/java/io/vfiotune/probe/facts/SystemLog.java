package io.vfiotune.probe.facts;

import io.vfiotune.spi.Severity;

/**
 * syslog(3), for operators who collect findings centrally instead of reading
 * libvirt's log. Opened once per process with ident {@code vfio-tune},
 * facility daemon.
 */
public interface SystemLog {
    void log(Severity severity, String message);

    /** libc's syslog through JNA; when JNA or libc cannot load, findings stay on stderr only. */
    static SystemLog open() {
        try {
            return LibcJna.openSyslog();
        } catch (RuntimeException | LinkageError e) {
            return (severity, message) -> {
            };
        }
    }
}
