package io.vfiotune.deb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.probe.facts.HostSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The package's conffile, /etc/vfio-tune/vfio-tune.properties, is hand-written:
 * every key HostSettings knows must be in it, commented out and explained, so
 * a key added in code fails here until the operator's file says what it does.
 */
class ConffileTest {
    private static final Path CONFFILE = Path.of(System.getProperty("vfio-tune.root", "..")).resolve("src/config/vfio-tune.properties");
    private static final Pattern EXAMPLE = Pattern.compile("^#([a-z0-9-]+)=(.*)$");

    @Test
    void everyKnownKeyIsExplainedAndCommentedOut() throws IOException {
        List<String> lines = Files.readAllLines(CONFFILE);
        TreeSet<String> documented = new TreeSet<>();
        for (int i = 0; i < lines.size(); i++) {
            Matcher example = EXAMPLE.matcher(lines.get(i));
            if (!example.matches()) {
                assertTrue(lines.get(i).isEmpty() || lines.get(i).startsWith("# ") || lines.get(i).equals("#"),
                        "line " + (i + 1) + " sets something; every key ships commented out: " + lines.get(i));
                continue;
            }
            String key = example.group(1);
            assertTrue(documented.add(key), key + " appears twice");
            // The explanation is the comment paragraph right above the example, opened by "# key: ".
            int start = i - 1;
            while (start >= 0 && lines.get(start).startsWith("# ")) {
                start--;
            }
            List<String> paragraph = lines.subList(start + 1, i);
            assertTrue(!paragraph.isEmpty() && paragraph.get(0).startsWith("# " + key + ": ") && paragraph.get(0).length() > ("# " + key + ": ").length() + 10,
                    key + " needs an explanation that starts with '# " + key + ": ' right above its example line");
        }
        assertEquals(new TreeSet<>(HostSettings.knownKeys()), documented, "the conffile must explain exactly the keys HostSettings knows");
    }

    @Test
    void everyExampleValueIsAccepted(@TempDir Path work) throws IOException {
        List<String> uncommented = new ArrayList<>();
        for (String line : Files.readAllLines(CONFFILE)) {
            Matcher example = EXAMPLE.matcher(line);
            uncommented.add(example.matches() ? line.substring(1) : line);
        }
        Path config = Files.write(work.resolve("vfio-tune.properties"), uncommented);
        HostSettings settings = HostSettings.load(Map.of(), Map.of(HostSettings.CONFIG_ENVIRONMENT_VARIABLE, config.toString()));
        assertEquals(new TreeSet<>(HostSettings.knownKeys()), new TreeSet<>(settings.asMap().keySet()), "an operator who uncomments an example gets a setting the tool accepts");
    }
}
