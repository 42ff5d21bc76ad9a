package io.vfiotune.probe.facts;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Structure;

import java.nio.charset.StandardCharsets;

/**
 * The only class that touches JNA. Raw bindings stay package-private, so no
 * JNA type leaks into the rest of vfio-tune.
 */
final class LibcJna implements NativeSystem {
    /** glibc's _SC_PAGESIZE on Linux. */
    private static final int SC_PAGESIZE = 30;

    interface CLibrary extends Library {
        long sysconf(int name);

        int uname(Utsname buffer);
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
