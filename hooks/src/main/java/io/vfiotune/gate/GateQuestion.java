package io.vfiotune.gate;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.UserPrincipal;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * One question in the gate's spool, as the launcher writes it and the gate answers it
 * (the format is in {@link GateSpool}): its checks before anything is read, its lines, the
 * answer written into its FIFO, and its removal. The launcher's shell side of the same
 * format is rendered from these constants ({@link ResidentGate}).
 */
final class GateQuestion {
    static final String QUESTION_HEADER = "vfio-tune-gate 1";
    static final String END = "vfio-tune-gate end";
    static final String IN_PROCESS = "vfio-tune-gate 1 - in-process";
    /** The whole answer to a question the gate does not judge: the client plans in process. */
    static final String PLAN_IN_PROCESS = IN_PROCESS + "\n" + END + "\n";
    /** The same bound the planner's own reader applies (a compile-time constant). */
    static final long MAX_DOCUMENT_BYTES = io.vfiotune.xml.tree.SecureXmlReader.MAX_DOCUMENT_BYTES;
    static final long MAX_QUESTION_BYTES = 8 * 1024;
    /** Below Linux's smallest pipe buffer (one page is 4 KiB; the default is 64 KiB): writing an answer never blocks. */
    static final int MAX_ANSWER_BYTES = 60 * 1024;

    private GateQuestion() {
    }

    /** Why a question is not taken, before any of it is read: its files' types and sizes; empty when they are fit to read. */
    static Optional<String> check(Path question, UserPrincipal owner) throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(question, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!attributes.isDirectory() || !Files.getOwner(question, LinkOption.NOFOLLOW_LINKS).equals(owner)) {
            return Optional.of("not a directory of " + owner.getName());
        }
        for (String file : List.of("question", "domain.xml")) {
            Path path = question.resolve(file);
            if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
                return Optional.of(file + " is missing or not a regular file");
            }
        }
        if (Files.size(question.resolve("question")) > MAX_QUESTION_BYTES) {
            return Optional.of("the question is over " + MAX_QUESTION_BYTES + " bytes");
        }
        if (Files.size(question.resolve("domain.xml")) > MAX_DOCUMENT_BYTES) {
            return Optional.of("the domain is over " + MAX_DOCUMENT_BYTES + " bytes; the hook's own plan refuses it");
        }
        return Optional.empty();
    }

    /**
     * The question's lines as the launcher's printf wrote them: split on
     * newlines only, so a carriage return (which libvirt allows in a name)
     * stays in its line; a trailing newline ends the last one.
     */
    static List<String> lines(String text) {
        String body = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        return List.of(body.split("\n", -1));
    }

    /** The answer to a judged question: its header with the hash of what was asked, the findings, the end line. */
    static String verdict(byte[] question, byte[] xml, GateSpool.Verdict verdict) {
        return QUESTION_HEADER + " " + sha256(question, xml) + " " + verdict.status() + "\n" + verdict.findings() + END + "\n";
    }

    /**
     * Writes {@code text} into the question's answer FIFO. It is opened for
     * reading and writing, which never blocks on Linux; only a FIFO is written
     * (a symlink in its place is not followed), and nothing is ever created: a
     * client that gave up may be removing its question this very moment, and a
     * file made in it would keep its directory in the spool for good.
     */
    static boolean reply(Path question, String text, Consumer<String> log) {
        Path fifo = question.resolve("answer");
        try {
            BasicFileAttributes attributes = Files.readAttributes(fifo, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!attributes.isOther()) {
                log.accept(fifo + " is not a FIFO; no answer");
                return false;
            }
            try (SeekableByteChannel answer = Files.newByteChannel(fifo, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
                while (bytes.hasRemaining()) {
                    answer.write(bytes);
                }
            }
            return true;
        } catch (IOException e) {
            // The client gave up and removed its question: it plans in process.
            return false;
        }
    }

    private static String sha256(byte[] question, byte[] xml) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(question);
            digest.update(xml);
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    static void delete(Path question) throws IOException {
        if (Files.isDirectory(question, LinkOption.NOFOLLOW_LINKS)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(question)) {
                for (Path file : files) {
                    Files.deleteIfExists(file);
                }
            }
        }
        Files.deleteIfExists(question);
    }
}
