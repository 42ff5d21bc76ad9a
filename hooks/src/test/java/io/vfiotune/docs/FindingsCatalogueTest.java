package io.vfiotune.docs;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/findings.md lists exactly the codes vfio-tune emits. The codes are read from the
 * production sources: every string literal shaped like a code (CAPITALS-WITH-HYPHENS, which
 * catches codes held in constants and passed on), the one-word codes given to
 * {@code Finding.error/warning/info}, and the {@code vfio-tune: error [CODE]} lines of the shell
 * launcher and the package's maintainer scripts. A literal counts as emitted wherever it is
 * (a set of codes a check looks for, too), so the second direction is as strict as the sources
 * let a text scan be. Where severity and code are written out together, the row's severity
 * column must name that severity.
 */
class FindingsCatalogueTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", ".."));
    private static final Pattern CODE_LITERAL = Pattern.compile("\"([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+)\"");
    private static final Pattern ONE_WORD_CODE = Pattern.compile("(?:Finding\\.(?:error|warning|info)\\(|new Finding\\([^,()]+,)\\s*\"([A-Z][A-Z0-9]*)\"");
    /** A finding made with its severity and code written out, as almost all are. */
    private static final Pattern SEVERITY_AND_CODE = Pattern.compile("(?:Finding\\.(error|warning|info)\\(|new Finding\\(Severity\\.(ERROR|WARNING|INFO),)\\s*\"([A-Z][A-Z0-9-]*)\"");
    private static final Pattern SHELL_FINDING = Pattern.compile("vfio-tune: (?:error|warning|info) \\[([A-Z][A-Z0-9-]*)\\]");
    /** Names of standards that have a code's shape and are no finding. */
    private static final Set<String> NOT_CODES = Set.of("MSI-X", "SHA-256", "US-ASCII");
    private static final Pattern TABLE_ROW = Pattern.compile("^\\| ([^|]*) \\| ([^|]*) \\|", Pattern.MULTILINE);
    private static final Pattern TICKED = Pattern.compile("`([A-Z][A-Z0-9-]*)`");

    @Test
    void everyEmittedCodeIsDocumentedAndEveryDocumentedCodeIsEmitted() throws IOException {
        Set<String> emitted = emitted();
        Set<String> documented = documented(Files.readString(ROOT.resolve("docs/findings.md"), StandardCharsets.UTF_8));
        assertTrue(emitted.size() > 100 && emitted.contains("HOOK-MISMATCH") && emitted.contains("USAGE") && emitted.contains("NOT-BUILT"),
                "the scan found too little: " + emitted);
        Set<String> undocumented = new TreeSet<>(emitted);
        undocumented.removeAll(documented);
        Set<String> neverEmitted = new TreeSet<>(documented);
        neverEmitted.removeAll(emitted);
        assertEquals(Set.of(), undocumented, "emitted but not in docs/findings.md");
        assertEquals(Set.of(), neverEmitted, "in docs/findings.md but never emitted");
    }

    /** Every severity a code is made with, as the page gives it, says that severity in the code's row. */
    @Test
    void theSeverityColumnNamesEverySeverityACodeIsMadeWith() throws IOException {
        Map<String, String> severityColumn = severityColumns(Files.readString(ROOT.resolve("docs/findings.md"), StandardCharsets.UTF_8));
        Set<String> wrong = new TreeSet<>();
        int checked = 0;
        for (String text : sources()) {
            Matcher made = SEVERITY_AND_CODE.matcher(text);
            while (made.find()) {
                String severity = (made.group(1) != null ? made.group(1) : made.group(2)).toLowerCase(Locale.ROOT);
                String code = made.group(3);
                checked++;
                if (!severityColumn.getOrDefault(code, "").contains(severity)) {
                    wrong.add(code + " is made as " + severity + ", and its row says '" + severityColumn.getOrDefault(code, "(no row)") + "'");
                }
            }
        }
        assertTrue(checked > 150, "only " + checked + " findings read");
        assertEquals(Set.of(), wrong);
    }

    /** The codes in the first column of every table row; the header row has none. */
    static Set<String> documented(String markdown) {
        return severityColumns(markdown).keySet();
    }

    /** Each documented code with its row's severity column. */
    static Map<String, String> severityColumns(String markdown) {
        Map<String, String> columns = new TreeMap<>();
        Matcher row = TABLE_ROW.matcher(markdown);
        while (row.find()) {
            Matcher code = TICKED.matcher(row.group(1));
            while (code.find()) {
                columns.merge(code.group(1), row.group(2), (a, b) -> a + "; " + b);
            }
        }
        return columns;
    }

    /** The production sources without their comments, which name codes too (as examples of the format); only code emits them. */
    private static List<String> sources() throws IOException {
        List<String> texts = new ArrayList<>();
        for (String module : List.of("plugin-api", "native-probe", "xml-transforms", "hooks")) {
            try (Stream<Path> files = Files.walk(ROOT.resolve(module).resolve("src/main/java"))) {
                for (Path source : files.filter(file -> file.toString().endsWith(".java")).toList()) {
                    texts.add(withoutComments(Files.readString(source, StandardCharsets.UTF_8)));
                }
            }
        }
        return texts;
    }

    private static Set<String> emitted() throws IOException {
        Set<String> codes = new TreeSet<>();
        for (String text : sources()) {
            collect(CODE_LITERAL, text, codes);
            collect(ONE_WORD_CODE, text, codes);
            collect(SHELL_FINDING, text, codes);
        }
        List<Path> scripts = new ArrayList<>(List.of(ROOT.resolve("vfio-tune")));
        try (Stream<Path> files = Files.list(ROOT.resolve("src/debian/control"))) {
            files.forEach(scripts::add);
        }
        for (Path script : scripts) {
            collect(SHELL_FINDING, Files.readString(script, StandardCharsets.UTF_8), codes);
        }
        codes.removeAll(NOT_CODES);
        return codes;
    }

    /** Java source without its comments; string literals, text blocks and character literals kept whole. */
    static String withoutComments(String source) {
        StringBuilder out = new StringBuilder(source.length());
        int i = 0;
        while (i < source.length()) {
            if (source.startsWith("/*", i)) {
                int end = source.indexOf("*/", i + 2);
                i = end < 0 ? source.length() : end + 2;
            } else if (source.startsWith("//", i)) {
                int end = source.indexOf('\n', i);
                i = end < 0 ? source.length() : end;
            } else if (source.startsWith("\"\"\"", i)) {
                int end = source.indexOf("\"\"\"", i + 3);
                end = end < 0 ? source.length() : end + 3;
                out.append(source, i, end);
                i = end;
            } else if (source.charAt(i) == '"' || source.charAt(i) == '\'') {
                char quote = source.charAt(i);
                int end = i + 1;
                while (end < source.length() && source.charAt(end) != quote && source.charAt(end) != '\n') {
                    end += source.charAt(end) == '\\' ? 2 : 1;
                }
                end = Math.min(end + 1, source.length());
                out.append(source, i, end);
                i = end;
            } else {
                out.append(source.charAt(i++));
            }
        }
        return out.toString();
    }

    private static void collect(Pattern pattern, String text, Set<String> into) {
        Matcher matcher = pattern.matcher(text);
        while (matcher.find()) {
            into.add(matcher.group(1));
        }
    }
}
