package io.vfiotune.guest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

/**
 * A gzip'd cpio archive in the "newc" format (the one the kernel unpacks as
 * initramfs), written in Java so the tests need no cpio tool. Every entry gets
 * owner root and mtime 0, so one content always gives the same bytes.
 */
final class Initramfs {
    private static final int DIRECTORY = 0040000;
    private static final int REGULAR = 0100000;
    private static final int CHARACTER_DEVICE = 0020000;
    private static final String TRAILER = "TRAILER!!!";

    private final ByteArrayOutputStream archive = new ByteArrayOutputStream();
    private final Set<String> names = new LinkedHashSet<>();
    private int nextInode = 1;
    private boolean finished;

    /** A directory; its parents must have been added before (the kernel does not create them). */
    Initramfs directory(String path) {
        add(path, DIRECTORY | 0755, 2, 0, 0, new byte[0]);
        return this;
    }

    Initramfs file(String path, int permissions, byte[] content) {
        add(path, REGULAR | (permissions & 07777), 1, 0, 0, content);
        return this;
    }

    /**
     * A device node: the kernel opens {@code /dev/console} for init's stdin and
     * stdout before init runs, that is before init can mount devtmpfs.
     */
    Initramfs characterDevice(String path, int permissions, int major, int minor) {
        add(path, CHARACTER_DEVICE | (permissions & 07777), 1, major, minor, new byte[0]);
        return this;
    }

    /** The names in the archive so far, in order (for tests and messages). */
    Set<String> names() {
        return Set.copyOf(names);
    }

    /** Closes the archive with the trailer entry and compresses it; the builder is done after this. */
    byte[] gzip() {
        if (!finished) {
            header(TRAILER, 0, 0, 1, 0, 0, 0);
            pad(archive.size());
            finished = true;
        }
        ByteArrayOutputStream compressed = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(compressed)) {
            archive.writeTo(gzip);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return compressed.toByteArray();
    }

    private void add(String path, int mode, int links, int deviceMajor, int deviceMinor, byte[] content) {
        if (finished) {
            throw new IllegalStateException("the archive is already finished");
        }
        // newc names are relative to the root the kernel unpacks into.
        String name = path.replaceFirst("^/+", "");
        if (name.isEmpty() || name.equals(TRAILER) || !names.add(name)) {
            throw new IllegalArgumentException("bad or repeated archive name '" + path + "'");
        }
        header(name, nextInode++, mode, links, content.length, deviceMajor, deviceMinor);
        archive.writeBytes(content);
        pad(content.length);
    }

    /** The 110-byte header: magic and 13 eight-digit hex fields, then the name with its NUL, padded to 4 bytes. */
    private void header(String name, int inode, int mode, int links, int size, int deviceMajor, int deviceMinor) {
        byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
        StringBuilder header = new StringBuilder("070701");
        int[] fields = {inode, mode, 0, 0, links, 0, size, 0, 0, deviceMajor, deviceMinor, nameBytes.length, 0};
        for (int field : fields) {
            header.append(String.format(Locale.ROOT, "%08x", field));
        }
        archive.writeBytes(header.toString().getBytes(StandardCharsets.US_ASCII));
        archive.writeBytes(nameBytes);
        pad(110 + nameBytes.length);
    }

    private void pad(int length) {
        for (int i = length; i % 4 != 0; i++) {
            archive.write(0);
        }
    }
}
