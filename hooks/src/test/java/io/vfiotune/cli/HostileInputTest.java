package io.vfiotune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * plan on input that is not a sane domain: one clear line, exit 1 or 2, under
 * 2 s, nothing on stdout, nothing fetched, and (for the 100 MB case, run in a
 * 48 MB heap) bounded memory.
 */
class HostileInputTest {
    private static final String DOMAIN_TAIL = "<name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/></metadata></domain>";

    @Test
    void malformedXml() {
        assertRefusedInOneLine("<domain type='qemu'><name>x</name>", "XML-MALFORMED");
    }

    @Test
    void externalEntityFile() {
        assertRefusedInOneLine("<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain type='qemu'><name>&x;</name></domain>", "XML-DOCTYPE");
    }

    @Test
    void externalEntityHttp() throws IOException {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            server.setSoTimeout(200);
            assertRefusedInOneLine("<!DOCTYPE domain [<!ENTITY x SYSTEM 'http://127.0.0.1:" + server.getLocalPort() + "/x'>]><domain type='qemu'><name>&x;</name>"
                    + "<metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/></metadata></domain>", "XML-DOCTYPE");
            assertThrows(SocketTimeoutException.class, server::accept, "nothing may be fetched");
        }
    }

    @Test
    void quadraticBlowUp() {
        String big = "x".repeat(50_000);
        assertRefusedInOneLine("<!DOCTYPE domain [<!ENTITY a '" + big + "'>]><domain type='qemu'><name>" + "&a;".repeat(50_000) + "</name>"
                + "<metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/></metadata></domain>", "XML-DOCTYPE");
    }

    /** 100 MB on stdin to a JVM with a 48 MB heap: refused at the size limit, never buffered whole. */
    @Test
    void hundredMegabytesInBoundedMemory() throws Exception {
        Process plan = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-XX:-UsePerfData", "-Xmx48m", "-cp", System.getProperty("java.class.path"),
                "io.vfiotune.cli.Main", "plan", "--sysfs-root", "/nonexistent", "-").redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long started = System.nanoTime();
        try (OutputStream in = plan.getOutputStream()) {
            in.write("<domain type='qemu'><name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/></metadata><!--".getBytes(StandardCharsets.UTF_8));
            byte[] chunk = "x".repeat(1 << 20).getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < 100; i++) {
                in.write(chunk);
            }
            in.write("--></domain>".getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // the plan stopped reading at the limit and closed its stdin: that is the point
        }
        assertTrue(plan.waitFor(10, TimeUnit.SECONDS));
        String stderr = new String(plan.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, plan.exitValue(), stderr);
        assertTrue(stderr.startsWith("vfio-tune: error [XML-TOO-LARGE] ") && stderr.strip().lines().count() == 1, stderr);
        assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(5), "refused promptly");
    }

    @Test
    void byteOrderMark() {
        byte[] body = ("<domain type='qemu'>" + DOMAIN_TAIL).getBytes(StandardCharsets.UTF_8);
        byte[] withBom = new byte[body.length + 3];
        withBom[0] = (byte) 0xef;
        withBom[1] = (byte) 0xbb;
        withBom[2] = (byte) 0xbf;
        System.arraycopy(body, 0, withBom, 3, body.length);
        assertRefusedInOneLine(withBom, "XML-ENCODING");
    }

    @Test
    void truncatedInput() {
        String whole = "<domain type='qemu'>" + DOMAIN_TAIL;
        assertRefusedInOneLine(whole.substring(0, whole.length() - 20), "XML-MALFORMED");
    }

    @Test
    void twoTuneElements() {
        assertRefusedInOneLine("<domain type='qemu'><name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'/>"
                + "<vt:tune xmlns:vt='urn:vfio-tune:1'/></metadata></domain>", "ANN-DUPLICATE");
    }

    @Test
    void unknownVtElement() {
        assertRefusedInOneLine("<domain type='qemu'><name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'><vt:turbo/></vt:tune></metadata></domain>",
                "ANN-UNKNOWN] vt:turbo:");
    }

    @Test
    void unknownVtAttribute() {
        assertRefusedInOneLine("<domain type='qemu'><name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'><vt:cliques mode='auto' turbo='1'/>"
                + "</vt:tune></metadata></domain>", "ANN-UNKNOWN] vt:cliques/@turbo:");
    }

    @Test
    void slashInAnnotatedHost() {
        assertRefusedInOneLine("<domain type='qemu'><name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'>"
                + "<vt:hostdev host='0000:00/02.0' msix-relocation='auto'/></vt:tune></metadata></domain>", "ANN-INVALID");
    }

    @Test
    void billionLaughs() {
        StringBuilder doctype = new StringBuilder("<!DOCTYPE domain [<!ENTITY a0 'lol'>");
        for (int i = 1; i < 10; i++) {
            doctype.append("<!ENTITY a").append(i).append(" '").append(("&a" + (i - 1) + ";").repeat(10)).append("'>");
        }
        assertRefusedInOneLine(doctype + "]><domain type='qemu'><name>&a9;</name></domain>", "XML-DOCTYPE");
    }

    @Test
    void oversizedDocument() {
        String padding = "<!--" + "x".repeat(11 * 1024 * 1024) + "-->";
        assertRefusedInOneLine("<domain type='qemu'>" + padding + DOMAIN_TAIL, "XML-TOO-LARGE");
    }

    @Test
    void deepNesting() {
        String deep = "<a>".repeat(100_000) + "</a>".repeat(100_000);
        assertRefusedInOneLine("<domain type='qemu'>" + deep + DOMAIN_TAIL, "XML-TOO-DEEP");
    }

    @Test
    void utf16() {
        byte[] bytes = ("<domain type='qemu'>" + DOMAIN_TAIL).getBytes(StandardCharsets.UTF_16);
        assertRefusedInOneLine(bytes, "XML-ENCODING");
    }

    @Test
    void invalidUtf8() {
        byte[] bytes = ("<domain type='qemu'><name>\u00e9</name></domain>").getBytes(StandardCharsets.ISO_8859_1);
        assertRefusedInOneLine(bytes, "XML-ENCODING");
    }

    @Test
    void pathTraversalInAnnotatedHost() {
        assertRefusedInOneLine("<domain type='qemu'><name>x</name><metadata><vt:tune xmlns:vt='urn:vfio-tune:1'>"
                + "<vt:hostdev host='0000:00:00.0/../../../etc' clique='1'/></vt:tune></metadata></domain>", "ANN-INVALID");
    }

    private static void assertRefusedInOneLine(String document, String code) {
        assertRefusedInOneLine(document.getBytes(StandardCharsets.UTF_8), code);
    }

    private static void assertRefusedInOneLine(byte[] document, String code) {
        CliRun.Result result = assertTimeoutPreemptively(Duration.ofSeconds(2), () -> CliRun.run(document, "plan", "--sysfs-root", "/nonexistent", "-"));
        assertTrue(result.status() == 1 || result.status() == 2, "exit " + result.status());
        assertEquals("", result.stdout(), "nothing may be written on a refusal");
        String[] lines = result.stderr().strip().split("\n");
        assertEquals(1, lines.length, result.stderr());
        assertTrue(lines[0].startsWith("vfio-tune: error [" + code + (code.contains("]") ? "" : "] ")), lines[0]);
        assertFalse(result.stderr().contains("\tat "), "no stack trace");
    }
}
