package io.vfiotune.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** plan on input that is not a sane domain: one clear line, exit 1 or 2, fast, nothing on stdout. */
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
    void externalEntityHttp() {
        assertRefusedInOneLine("<!DOCTYPE domain [<!ENTITY x SYSTEM 'http://127.0.0.1:9/x'>]><domain type='qemu'><name>&x;</name></domain>", "XML-DOCTYPE");
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
        assertTrue(lines[0].startsWith("vfio-tune: error [" + code + "] "), lines[0]);
        assertFalse(result.stderr().contains("\tat "), "no stack trace");
    }
}
