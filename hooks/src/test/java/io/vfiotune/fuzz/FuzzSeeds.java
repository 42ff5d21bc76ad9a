package io.vfiotune.fuzz;

import io.vfiotune.probe.fixture.ConfigLayout;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The seed corpus of the fuzz targets, taken from what the repository already
 * has: the golden cases' inputs, the preservation corpus, and the config
 * spaces of src/hosts/parts (real lspci dumps and the layouts rebuilt from
 * lspci -vv). src/scripts/fuzz copies them into Jazzer's corpus directories,
 * and FuzzSeedsTest runs every target's checks over them in the normal test run.
 */
final class FuzzSeeds {
    private FuzzSeeds() {
    }

    static List<Path> domains() {
        List<Path> domains = new ArrayList<>(files(FuzzHost.ROOT.resolve("src/corpus/domains"), ".xml"));
        try (Stream<Path> cases = Files.list(FuzzHost.ROOT.resolve("src/golden"))) {
            cases.map(directory -> directory.resolve("input.xml")).filter(Files::isRegularFile).sorted().forEach(domains::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return domains;
    }

    static List<Path> configSpaces() {
        List<Path> parts = new ArrayList<>(files(FuzzHost.ROOT.resolve("src/hosts/parts"), ".hex"));
        parts.addAll(files(FuzzHost.ROOT.resolve("src/hosts/parts"), ".layout"));
        return parts;
    }

    /** The bytes of an lspci-style hex dump ({@code 00: 86 80 ...}) or of a layout file. */
    static byte[] configBytes(Path part) {
        try {
            if (part.toString().endsWith(".layout")) {
                return ConfigLayout.load(part).bytes();
            }
            StringBuilder hex = new StringBuilder();
            for (String line : Files.readAllLines(part)) {
                int colon = line.indexOf(':');
                if (!line.startsWith("#") && colon > 0) {
                    hex.append(line.substring(colon + 1).replace(" ", "").strip());
                }
            }
            return HexFormat.of().parseHex(hex.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Path> files(Path directory, String suffix) {
        try (Stream<Path> listing = Files.list(directory)) {
            return listing.filter(path -> path.toString().endsWith(suffix)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
