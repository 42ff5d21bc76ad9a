package io.vfiotune.cli;

import io.vfiotune.planning.Console;
import io.vfiotune.probe.fixture.Directories;
import picocli.AutoComplete;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * Build-time generator (run by the hooks pom at prepare-package) of what the
 * Debian package installs besides the jars: {@code vfio-tune(1)} and one man
 * page per command, the bash completion script, and the package's compressed
 * README with the docs/ pages it links to, and the changelog. Everything comes from the picocli model of the
 * compiled commands, so an option added in code shows up in its man page and
 * in completion without anyone remembering to write it down.
 */
public final class Documentation {
    /** The date form of a Debian changelog trailer (RFC 5322, numeric zone). */
    private static final DateTimeFormatter CHANGELOG_DATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss xx", Locale.ROOT);
    private final CommandLine root;
    private final String version;
    private final Instant date;

    Documentation(String version, Instant date) {
        this.root = new CommandLine(new Main(new Console(InputStream.nullInputStream(), new PrintStream(OutputStream.nullOutputStream()),
                new PrintStream(OutputStream.nullOutputStream()), Map.of())));
        this.version = version;
        this.date = date;
    }

    /** Arguments: the output directory, the pom version and the repository root. */
    public static void main(String[] arguments) throws IOException {
        if (arguments.length != 3) {
            throw new IllegalArgumentException("usage: Documentation OUTPUT-DIRECTORY POM-VERSION REPOSITORY-ROOT");
        }
        Path output = Path.of(arguments[0]);
        Path repository = Path.of(arguments[2]);
        // SOURCE_DATE_EPOCH (reproducible builds) pins the dates in the pages and the changelog.
        String epoch = System.getenv("SOURCE_DATE_EPOCH");
        Instant date = epoch == null || epoch.isBlank() ? Instant.now() : Instant.ofEpochSecond(Long.parseLong(epoch.strip()));
        new Documentation(PackageVersion.debian(arguments[1]), date).write(output, repository);
    }

    void write(Path output, Path repository) throws IOException {
        // Made afresh: a page of a renamed command, or a file renamed here, must not ride along into the package.
        if (Files.exists(output)) {
            Directories.deleteTree(output);
        }
        Path man = Files.createDirectories(output.resolve("man"));
        Files.write(man.resolve("vfio-tune.1.gz"), gzip(mainPage().getBytes(StandardCharsets.UTF_8)));
        for (CommandLine command : commands()) {
            Files.write(man.resolve("vfio-tune-" + command.getCommandName() + ".1.gz"), gzip(commandPage(command).getBytes(StandardCharsets.UTF_8)));
        }
        Path completion = Files.createDirectories(output.resolve("completion"));
        // bash-completion sources the script, so picocli's #! line would only mislead.
        Files.writeString(completion.resolve("vfio-tune"), AutoComplete.bash("vfio-tune", root).replaceFirst("^#!.*\n", ""), StandardCharsets.UTF_8);
        Path doc = Files.createDirectories(output.resolve("doc"));
        Files.write(doc.resolve("README.md.gz"), gzip(Files.readAllBytes(repository.resolve("README.md"))));
        // The README is a front page that links into docs/: the pages go beside it, compressed as Debian ships documentation.
        Path pages = Files.createDirectories(doc.resolve("docs"));
        try (Stream<Path> markdown = Files.list(repository.resolve("docs"))) {
            for (Path page : markdown.filter(file -> file.getFileName().toString().endsWith(".md")).sorted().toList()) {
                Files.write(pages.resolve(page.getFileName() + ".gz"), gzip(Files.readAllBytes(page)));
            }
        }
        String changelog = Files.readString(repository.resolve("src/debian/changelog"), StandardCharsets.UTF_8)
                .replace("[[version]]", version).replace("[[date]]", CHANGELOG_DATE.format(date.atOffset(ZoneOffset.UTC)));
        // A version without a Debian revision makes a native package, whose changelog is changelog.gz.
        Files.write(doc.resolve("changelog.gz"), gzip(changelog.getBytes(StandardCharsets.UTF_8)));
    }

    /** The documented commands: every subcommand but the hidden ones (fixture is for tests). */
    List<CommandLine> commands() {
        return root.getSubcommands().values().stream().filter(command -> !command.getCommandSpec().usageMessage().hidden()).toList();
    }

    String mainPage() {
        StringBuilder page = new StringBuilder();
        header(page, "vfio-tune");
        page.append(".SH NAME\nvfio\\-tune \\- ").append(escape(lowerFirst(stripPeriod(description(root.getCommandSpec()))))).append('\n');
        page.append(".SH SYNOPSIS\n.B vfio\\-tune\n.I COMMAND\n.RI [ OPTIONS ]\n.RI [ ARGUMENTS ]\n");
        page.append(".SH DESCRIPTION\n").append(escape("vfio-tune rewrites a libvirt domain definition so that its PCI passthrough devices are set up right "
                + "for the host: GPUDirect clique IDs, MSI-X relocation, sPAPR PHBs per IOMMU group and Intel IGD placement. "
                + "A domain opts in with a vt:tune element (namespace urn:vfio-tune:1) in its metadata; a domain without it is never changed.")).append('\n');
        page.append(".PP\n").append(escape("Installed as a libvirt qemu hook, vfio-tune refuses to start a domain whose definition no longer fits "
                + "the host, and names the command that fixes it. The schema of the annotations is /usr/share/xml/vfio-tune/vfio-tune-1.xsd.")).append('\n');
        page.append(".SH COMMANDS\n");
        for (CommandLine command : commands()) {
            page.append(".TP\n.B ").append(escape(command.getCommandName())).append('\n')
                    .append(escape(description(command.getCommandSpec()))).append(" See\n.BR ").append(escape("vfio-tune-" + command.getCommandName())).append(" (1).\n");
        }
        options(page, root.getCommandSpec());
        page.append(".SH FILES\n");
        file(page, "/etc/vfio-tune/vfio-tune.properties", "The settings of the hook and the command; every key is explained in the file itself.");
        file(page, "/etc/libvirt/hooks/qemu.d/50-vfio-tune", "The hook launcher that vfio-tune install-hook writes.");
        file(page, "/var/cache/vfio-tune", "The QEMU version cache and the hook's class archive.");
        file(page, "/usr/share/xml/vfio-tune/vfio-tune-1.xsd", "The schema of the annotations.");
        page.append(".SH ENVIRONMENT\n.TP\n.B VFIO_TUNE_CONFIG\n").append(escape("Read this file instead of /etc/vfio-tune/vfio-tune.properties.")).append('\n');
        exitStatus(page);
        page.append(".SH SEE ALSO\n");
        List<String> references = new ArrayList<>();
        for (CommandLine command : commands()) {
            references.add(".BR " + escape("vfio-tune-" + command.getCommandName()) + " (1)");
        }
        references.add(".BR virsh (1)");
        page.append(String.join(",\n", references)).append('\n');
        return page.toString();
    }

    String commandPage(CommandLine command) {
        CommandSpec spec = command.getCommandSpec();
        String name = "vfio-tune-" + command.getCommandName();
        StringBuilder page = new StringBuilder();
        header(page, name);
        page.append(".SH NAME\n").append(escape(name)).append(" \\- ").append(escape(lowerFirst(stripPeriod(firstSentence(description(spec)))))).append('\n');
        page.append(".SH SYNOPSIS\n.B ").append(escape("vfio-tune " + command.getCommandName())).append('\n');
        for (OptionSpec option : visibleOptions(spec)) {
            page.append(".RB [ ").append(escape(option.longestName()));
            if (option.typeInfo().isBoolean() && option.arity().max() == 0) {
                page.append(" ]\n");
            } else {
                page.append("\n.IR ").append(escape(option.paramLabel())).append(" ]\n");
            }
        }
        for (PositionalParamSpec positional : spec.positionalParameters()) {
            if (positional.hidden()) {
                continue;
            }
            boolean optional = positional.arity().min() == 0;
            boolean repeated = positional.arity().max() > 1;
            page.append(optional ? ".RI [ " : ".I ").append(escape(positional.paramLabel())).append(repeated ? " ..." : "").append(optional ? " ]\n" : "\n");
        }
        page.append(".SH DESCRIPTION\n").append(escape(description(spec))).append('\n');
        options(page, spec);
        List<PositionalParamSpec> positionals = spec.positionalParameters().stream().filter(positional -> !positional.hidden()).toList();
        if (!positionals.isEmpty()) {
            page.append(".SH ARGUMENTS\n");
            for (PositionalParamSpec positional : positionals) {
                page.append(".TP\n.I ").append(escape(positional.paramLabel())).append('\n').append(escape(argumentDescription(positional))).append('\n');
            }
        }
        exitStatus(page);
        page.append(".SH SEE ALSO\n.BR vfio-tune (1)\n");
        return page.toString();
    }

    private void header(StringBuilder page, String name) {
        String day = DateTimeFormatter.ISO_LOCAL_DATE.format(date.atOffset(ZoneOffset.UTC));
        page.append(".TH ").append(escape(name.toUpperCase(Locale.ROOT))).append(" 1 \"").append(day).append("\" \"").append(escape("vfio-tune " + version))
                .append("\" \"").append(escape("vfio-tune manual")).append("\"\n");
    }

    private static void options(StringBuilder page, CommandSpec spec) {
        List<OptionSpec> options = visibleOptions(spec);
        if (options.isEmpty()) {
            return;
        }
        page.append(".SH OPTIONS\n");
        for (OptionSpec option : options) {
            page.append(".TP\n");
            List<String> names = new ArrayList<>();
            for (String name : option.names()) {
                names.add("\\fB" + escape(name) + "\\fR");
            }
            page.append(String.join(", ", names));
            if (!(option.typeInfo().isBoolean() && option.arity().max() == 0)) {
                page.append(" \\fI").append(escape(option.paramLabel())).append("\\fR");
            }
            page.append('\n').append(escape(argumentDescription(option))).append('\n');
        }
    }

    private static void exitStatus(StringBuilder page) {
        page.append(".SH EXIT STATUS\n");
        page.append(".TP\n.B 0\n").append(escape("Done, possibly with warnings.")).append('\n');
        page.append(".TP\n.B 1\n").append(escape("Usage or internal error, including input that is not a readable domain XML.")).append('\n');
        page.append(".TP\n.B 2\n").append(escape("Refused: the domain or its annotations cannot be honoured on this host; standard error says why and what to do."))
                .append('\n');
    }

    private static void file(StringBuilder page, String path, String what) {
        page.append(".TP\n.I ").append(escape(path)).append('\n').append(escape(what)).append('\n');
    }

    private static List<OptionSpec> visibleOptions(CommandSpec spec) {
        return spec.options().stream().filter(option -> !option.hidden()).toList();
    }

    private static String description(CommandSpec spec) {
        return String.join(" ", spec.usageMessage().description()).strip();
    }

    private static String argumentDescription(ArgSpec argument) {
        String text = String.join(" ", argument.description()).strip();
        return text.isEmpty() ? "See the DESCRIPTION." : text;
    }

    private static String firstSentence(String text) {
        int end = text.indexOf(". ");
        return end < 0 ? text : text.substring(0, end + 1);
    }

    private static String stripPeriod(String text) {
        return text.endsWith(".") ? text.substring(0, text.length() - 1) : text;
    }

    private static String lowerFirst(String text) {
        return text.isEmpty() || Character.isUpperCase(text.charAt(Math.min(1, text.length() - 1)))
                ? text : Character.toLowerCase(text.charAt(0)) + text.substring(1);
    }

    /**
     * Text for a roff line: backslashes escaped, hyphens as \- (the ASCII minus
     * that option names need to stay copyable), and a leading dot or quote
     * guarded so groff never reads the line as a request.
     */
    static String escape(String text) {
        String escaped = text.replace("\\", "\\e").replace("-", "\\-");
        return escaped.startsWith(".") || escaped.startsWith("'") ? "\\&" + escaped : escaped;
    }

    /**
     * gzip with the maximum-compression flag and no time stamp in the header:
     * lintian checks both for man pages and changelogs, and java.util.zip's
     * GZIPOutputStream writes neither flag.
     */
    static byte[] gzip(byte[] content) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        // ID1 ID2, CM=deflate, FLG=0, MTIME=0 (4 bytes), XFL=2 (maximum compression), OS=3 (Unix)
        bytes.write(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 2, 3});
        Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION, true);
        try (DeflaterOutputStream deflate = new DeflaterOutputStream(bytes, deflater) {
            @Override
            public void close() throws IOException {
                finish(); // keep the underlying stream open for the trailer
            }
        }) {
            deflate.write(content);
        } finally {
            deflater.end();
        }
        CRC32 crc = new CRC32();
        crc.update(content);
        writeLittleEndian(bytes, crc.getValue());
        writeLittleEndian(bytes, content.length & 0xffffffffL);
        return bytes.toByteArray();
    }

    private static void writeLittleEndian(ByteArrayOutputStream bytes, long value) {
        for (int i = 0; i < 4; i++) {
            bytes.write((int) (value >>> (8 * i)) & 0xff);
        }
    }
}
