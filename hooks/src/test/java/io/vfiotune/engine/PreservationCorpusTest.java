package io.vfiotune.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.golden.CliRun;
import io.vfiotune.golden.Libvirt;
import io.vfiotune.probe.fixture.HostFixture;
import io.vfiotune.stack.Stack;
import io.vfiotune.stack.Stacks;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The preservation property over src/corpus/domains (60 domains in the shapes
 * of libvirt's test data, each valid for libvirt's schema):
 * - unannotated, the plan returns the very bytes it was given;
 * - annotated (cliques and MSI-X relocation on the fixture's two T4s), every
 *   element, attribute and text node of the input is still in the output, at
 *   the same place; vfio-tune only adds (aliases, overrides, its record);
 * - a second plan of the output changes nothing.
 */
class PreservationCorpusTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final Path CORPUS = ROOT.resolve("src/corpus/domains");
    private static final String TUNE = "<vt:tune xmlns:vt=\"urn:vfio-tune:1\"><vt:cliques mode=\"auto\"/><vt:msix-relocation mode=\"auto\"/></vt:tune>";

    @TempDir
    static Path work;
    static Path sysfs;

    @BeforeAll
    static void host() throws IOException {
        sysfs = HostFixture.load(ROOT.resolve("src/hosts/x86-plx-t4-pair")).materialize(Files.createDirectory(work.resolve("sysfs")));
    }

    @TestFactory
    Stream<DynamicTest> everyCorpusDomain() throws IOException {
        List<Path> files;
        try (Stream<Path> listing = Files.list(CORPUS)) {
            files = listing.filter(path -> path.toString().endsWith(".xml")).sorted().toList();
        }
        assertTrue(files.size() >= 50, "the corpus has " + files.size() + " domains; the property needs at least 50");
        return files.stream().map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> check(file)));
    }

    private static void check(Path file) throws Exception {
        String input = Files.readString(file, StandardCharsets.UTF_8);
        assertTrue(Stacks.debian12().validate(file).ok(), file + " must be a domain libvirt's schema accepts");

        CliRun.Result plain = plan(input);
        assertEquals(0, plain.status(), plain.stderr());
        assertEquals(input, plain.stdout(), "an unannotated domain comes back byte for byte");

        String annotated = annotate(input);
        CliRun.Result planned = plan(annotated);
        assertEquals(0, planned.status(), planned.stderr());
        assertTrue(planned.stdout().contains("x-nv-gpudirect-clique"), "the plan did its job on the T4 pair");
        List<String> lost = XmlPreservation.lost(annotated, planned.stdout());
        assertTrue(lost.isEmpty(), "lost or changed: " + lost);

        for (Stack stack : Stacks.all()) {
            Path staged = stack.stage(file.getFileName().toString(), planned.stdout().getBytes(StandardCharsets.UTF_8));
            try {
                Libvirt.Result validation = stack.validate(staged);
                assertTrue(validation.ok(), stack + " rejects the planned " + file.getFileName() + ": " + validation.stderr() + validation.stdout());
            } finally {
                Files.deleteIfExists(staged);
            }
        }

        CliRun.Result again = plan(planned.stdout());
        assertEquals(planned.stdout(), again.stdout(), "a second plan is a fixed point");
    }

    /** The comparison itself: it must see a changed attribute, a lost element and changed text, and allow additions. */
    @org.junit.jupiter.api.Test
    void theComparisonSeesLossesAndAllowsAdditions() throws Exception {
        String input = "<d><a x='1'>t</a><a x='2'/><b/></d>";
        String hostdev = "<domain><devices><hostdev><alias name='hostdev0'/></hostdev><hostdev><alias name='ua-gpu'/></hostdev></devices></domain>";
        assertEquals(List.of(), XmlPreservation.lostUndocumented(hostdev, hostdev.replace("hostdev0", "ua-vt-0000-03-00-0")), "the documented alias change");
        assertEquals(List.of("/domain/devices/hostdev[1]/alias/@name='ua-gpu'"),
                XmlPreservation.lostUndocumented(hostdev, hostdev.replace("ua-gpu", "ua-other")), "a user alias is never changed");
        assertEquals(List.of(), XmlPreservation.lost(input, "<d><a x='1' y='3'>t<c/></a><a x='2'/><b/><b/></d>"));
        assertEquals(List.of("/d/a/@x='1'"), XmlPreservation.lost(input, "<d><a x='9'>t</a><a x='2'/><b/></d>"));
        assertEquals(List.of("/d/a[1]"), XmlPreservation.lost(input, "<d><a x='1'>t</a><b/></d>"));
        assertEquals(List.of("/d/a/text()"), XmlPreservation.lost(input, "<d><a x='1'>u</a><a x='2'/><b/></d>"));
    }

    private static CliRun.Result plan(String document) {
        return CliRun.run(document.getBytes(StandardCharsets.UTF_8), "plan", "--sysfs-root", sysfs.toString(), "-");
    }

    /** Puts {@code <vt:tune>} into the domain's metadata, creating the element after {@code <uuid>} when there is none. */
    private static String annotate(String input) {
        String newline = input.contains("\r\n") ? "\r\n" : "\n";
        int metadata = input.indexOf("<metadata>");
        if (metadata >= 0) {
            int at = metadata + "<metadata>".length();
            return input.substring(0, at) + newline + TUNE + input.substring(at);
        }
        int uuidEnd = input.indexOf("</uuid>") + "</uuid>".length();
        return input.substring(0, uuidEnd) + newline + "<metadata>" + TUNE + "</metadata>" + input.substring(uuidEnd);
    }

}
