package io.vfiotune.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;

/**
 * The man pages and completion the package ships are generated from the picocli
 * model; these checks keep the generator honest about that model (lintian and
 * the package test judge the installed result).
 */
class DocumentationTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private final Documentation documentation = new Documentation("0.1.0~snapshot", Instant.parse("2026-01-02T03:04:05Z"));

    @Test
    void everyVisibleOptionAndArgumentOfEveryCommandIsInItsPage() {
        for (CommandLine command : documentation.commands()) {
            String page = documentation.commandPage(command);
            for (OptionSpec option : command.getCommandSpec().options()) {
                if (!option.hidden()) {
                    for (String name : option.names()) {
                        assertTrue(page.contains(Documentation.escape(name)), command.getCommandName() + " page lacks " + name + ":\n" + page);
                    }
                }
            }
            command.getCommandSpec().positionalParameters().forEach(positional ->
                    assertTrue(page.contains(".I " + Documentation.escape(positional.paramLabel())), command.getCommandName() + " page lacks " + positional.paramLabel()));
            assertTrue(page.startsWith(".TH VFIO\\-TUNE\\-" + command.getCommandName().toUpperCase(java.util.Locale.ROOT).replace("-", "\\-") + " 1 \"2026-01-02\" \"vfio\\-tune 0.1.0~snapshot\""),
                    page);
        }
    }

    @Test
    void hiddenCommandsGetNoPageAndTheMainPageListsTheRest(@TempDir Path output) throws IOException {
        documentation.write(output, ROOT);
        TreeSet<String> pages = new TreeSet<>();
        try (var files = Files.list(output.resolve("man"))) {
            files.forEach(file -> pages.add(file.getFileName().toString()));
        }
        TreeSet<String> expected = new TreeSet<>(List.of("vfio-tune.1.gz"));
        documentation.commands().forEach(command -> expected.add("vfio-tune-" + command.getCommandName() + ".1.gz"));
        assertEquals(expected, pages);
        assertTrue(!pages.contains("vfio-tune-fixture.1.gz"), "fixture is a hidden command for tests");
        String main = gunzip(Files.readAllBytes(output.resolve("man/vfio-tune.1.gz")));
        documentation.commands().forEach(command -> assertTrue(main.contains(".BR vfio\\-tune\\-" + command.getCommandName().replace("-", "\\-") + " (1)"), command.getCommandName()));
        String completion = Files.readString(output.resolve("completion/vfio-tune"));
        assertTrue(!completion.startsWith("#!") && completion.contains("complete -F"), "a sourced bash-completion script");
        assertTrue(gunzip(Files.readAllBytes(output.resolve("doc/changelog.gz"))).startsWith("vfio-tune (0.1.0~snapshot) unstable; urgency=medium\n"));
    }

    @Test
    void gzipIsReadableWithMaximumCompressionFlagAndNoTimestamp() throws IOException {
        byte[] content = "a man page\n".repeat(100).getBytes(StandardCharsets.UTF_8);
        byte[] compressed = Documentation.gzip(content);
        assertArrayEquals(content, new GZIPInputStream(new ByteArrayInputStream(compressed)).readAllBytes());
        assertArrayEquals(new byte[] {0, 0, 0, 0}, java.util.Arrays.copyOfRange(compressed, 4, 8), "MTIME is zero");
        assertEquals(2, compressed[8], "XFL says maximum compression");
    }

    @Test
    void roffControlCharactersAreEscaped() {
        assertEquals("\\&.hidden \\e \\-\\-opt", Documentation.escape(".hidden \\ --opt"));
    }

    private static String gunzip(byte[] bytes) throws IOException {
        return new String(new GZIPInputStream(new ByteArrayInputStream(bytes)).readAllBytes(), StandardCharsets.UTF_8);
    }
}
