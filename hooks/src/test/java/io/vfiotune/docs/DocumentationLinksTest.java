package io.vfiotune.docs;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README and docs/ hold together: every relative link reaches a file of the checkout and,
 * with a {@code #fragment}, a heading of that file (as GitHub makes anchors from headings);
 * every page under docs/ is reachable from the README; and the README stays a front page.
 */
class DocumentationLinksTest {
    private static final Path ROOT = Path.of(System.getProperty("vfio-tune.root", "..")).toAbsolutePath().normalize();
    /** [text](target), outside code spans; images and reference links are not used here. */
    private static final Pattern LINK = Pattern.compile("\\[[^\\]]*\\]\\(([^)\\s]+)\\)");
    private static final Pattern HEADING = Pattern.compile("^#{1,6} (.+)$", Pattern.MULTILINE);
    private static final int README_LINES = 250;

    @Test
    void everyLinkReachesAFileAndItsHeading() throws IOException {
        List<String> broken = new ArrayList<>();
        int checked = 0;
        for (Path page : pages()) {
            for (String target : links(page)) {
                if (target.matches("[a-z]+:.*")) {
                    continue; // https: and mailto: are outside the checkout
                }
                checked++;
                int hash = target.indexOf('#');
                String file = hash < 0 ? target : target.substring(0, hash);
                Path linked = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
                if (!linked.startsWith(ROOT) || !Files.exists(linked)) {
                    broken.add(ROOT.relativize(page) + ": " + target + " (no such file)");
                } else if (hash >= 0 && !anchors(linked).contains(target.substring(hash + 1))) {
                    broken.add(ROOT.relativize(page) + ": " + target + " (no such heading; has " + anchors(linked) + ")");
                }
            }
        }
        assertTrue(checked > 40, "only " + checked + " links checked");
        assertEquals(List.of(), broken);
    }

    @Test
    void everyDocsPageIsReachableFromTheReadme() throws IOException {
        Set<Path> reached = new HashSet<>();
        List<Path> queue = new ArrayList<>(List.of(ROOT.resolve("README.md")));
        while (!queue.isEmpty()) {
            Path page = queue.remove(queue.size() - 1);
            if (!reached.add(page)) {
                continue;
            }
            for (String target : links(page)) {
                String file = target.contains("#") ? target.substring(0, target.indexOf('#')) : target;
                if (!file.isEmpty() && file.endsWith(".md") && !target.matches("[a-z]+:.*")) {
                    Path linked = page.getParent().resolve(file).normalize();
                    if (Files.exists(linked)) {
                        queue.add(linked);
                    }
                }
            }
        }
        Set<String> unreached = new TreeSet<>();
        for (Path page : pages()) {
            if (!reached.contains(page)) {
                unreached.add(ROOT.relativize(page).toString());
            }
        }
        assertEquals(Set.of(), unreached);
    }

    @Test
    void theReadmeIsAFrontPage() throws IOException {
        long lines = Files.readAllLines(ROOT.resolve("README.md"), StandardCharsets.UTF_8).size();
        assertTrue(lines <= README_LINES, "README.md has " + lines + " lines; what is longer belongs under docs/");
    }

    /** GitHub's anchors: lower case, punctuation but '-' and '_' dropped, spaces to '-'. */
    static Set<String> anchors(Path page) throws IOException {
        Set<String> anchors = new TreeSet<>();
        Matcher heading = HEADING.matcher(withoutCodeBlocks(Files.readString(page, StandardCharsets.UTF_8)));
        while (heading.find()) {
            anchors.add(heading.group(1).strip().toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-'));
        }
        return anchors;
    }

    private static List<String> links(Path page) throws IOException {
        String text = withoutCodeBlocks(Files.readString(page, StandardCharsets.UTF_8)).replaceAll("`[^`\n]*`", "");
        List<String> targets = new ArrayList<>();
        Matcher link = LINK.matcher(text);
        while (link.find()) {
            targets.add(link.group(1));
        }
        return targets;
    }

    /** Indented and fenced blocks hold shell and XML, where brackets and '#' are no markdown. */
    private static String withoutCodeBlocks(String text) {
        return text.replaceAll("(?s)```.*?```", "").replaceAll("(?m)^    .*$", "");
    }

    private static List<Path> pages() throws IOException {
        List<Path> pages = new ArrayList<>(List.of(ROOT.resolve("README.md")));
        try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
            docs.filter(page -> page.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        return pages;
    }
}
