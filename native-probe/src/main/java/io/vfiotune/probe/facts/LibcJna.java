package io.vfiotune.probe.facts;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;

import java.nio.charset.StandardCharsets;

/**
 * The only class that touches JNA (uname, sysconf, and syslog). Raw bindings stay package-private, so no
 * JNA type leaks into the rest of vfio-tune.
 */
final class LibcJna implements NativeSystem {
    /** glibc's _SC_PAGESIZE on Linux. */
    private static final int SC_PAGESIZE = 30;

    /** syslog.h: LOG_PID, LOG_DAEMON and the three priorities findings map to. */
    private static final int LOG_PID = 0x01;
    private static final int LOG_DAEMON = 3 << 3;
    private static final int LOG_ERR = 3;
    private static final int LOG_WARNING = 4;
    private static final int LOG_INFO = 6;

    interface CLibrary extends Library {
        long sysconf(int name);

        int uname(Utsname buffer);

        void openlog(Pointer ident, int option, int facility);

        void syslog(int priority, String format, Object... arguments);
    }

    /** Linux {@code struct utsname}: six fields of 65 bytes. */
    @Structure.FieldOrder({"sysname", "nodename", "release", "version", "machine", "domainname"})
    public static final class Utsname extends Structure {
        public byte[] sysname = new byte[65];
        public byte[] nodename = new byte[65];
        public byte[] release = new byte[65];
        public byte[] version = new byte[65];
        public byte[] machine = new byte[65];
        public byte[] domainname = new byte[65];
    }

    private final CLibrary libc;

    private LibcJna(CLibrary libc) {
        this.libc = libc;
    }

    static NativeSystem load() {
        return new LibcJna(Native.load("c", CLibrary.class));
    }

    /** glibc keeps the ident pointer, not a copy, so it lives in memory that is never freed. */
    private static Memory ident;

    static synchronized SystemLog openSyslog() {
        CLibrary libc = Native.load("c", CLibrary.class);
        if (ident == null) {
            ident = new Memory(16);
            ident.setString(0, "vfio-tune", "US-ASCII");
        }
        libc.openlog(ident, LOG_PID, LOG_DAEMON);
        return (severity, message) -> libc.syslog(LOG_DAEMON | switch (severity) {
            case ERROR -> LOG_ERR;
            case WARNING -> LOG_WARNING;
            case INFO -> LOG_INFO;
        }, "%s", message);
    }

    @Override
    public String machine() {
        Utsname buffer = new Utsname();
        if (libc.uname(buffer) != 0) {
            throw new IllegalStateException("uname failed");
        }
        buffer.read();
        int length = 0;
        while (length < buffer.machine.length && buffer.machine[length] != 0) {
            length++;
        }
        return new String(buffer.machine, 0, length, StandardCharsets.US_ASCII);
    }

    @Override
    public long pageSize() {
        long size = libc.sysconf(SC_PAGESIZE);
        if (size <= 0) {
            throw new IllegalStateException("sysconf(_SC_PAGESIZE) failed");
        }
        return size;
    }
}
