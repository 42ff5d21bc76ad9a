package io.vfiotune.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vfiotune.xml.annotations.AnnotationNamespace;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The fuzz targets' property checks over the seed corpus, in every normal test run. */
class FuzzSeedsTest {
    private static final Pattern TUNE = Pattern.compile("(?s)<vt:tune\\b.*?(</vt:tune>|/>)");

    @TestFactory
    Stream<DynamicTest> planKeepsItsPropertiesOnEverySeed() {
        List<Path> seeds = FuzzSeeds.domains();
        assertTrue(seeds.size() > 100, "golden inputs and the corpus: " + seeds.size());
        return seeds.stream().map(seed -> DynamicTest.dynamicTest(FuzzHost.ROOT.relativize(seed).toString(), () -> PlanFuzzTest.check(Files.readAllBytes(seed))));
    }

    @TestFactory
    Stream<DynamicTest> decoderKeepsItsPropertiesOnEveryPart() {
        return FuzzSeeds.configSpaces().stream().map(part -> DynamicTest.dynamicTest(part.getFileName().toString(), () -> {
            byte[] bytes = FuzzSeeds.configBytes(part);
            assertTrue(bytes.length >= 64, part + " has " + bytes.length + " bytes");
            new ConfigSpaceFuzzTest().decode(bytes);
        }));
    }

    @TestFactory
    Stream<DynamicTest> binderAnswersEveryGoldenAnnotation() {
        return FuzzSeeds.domains().stream().map(seed -> DynamicTest.dynamicTest(FuzzHost.ROOT.relativize(seed).toString(), () -> {
            Matcher tune = TUNE.matcher(Files.readString(seed));
            String annotation = tune.find() ? tune.group() : "<vt:tune xmlns:vt='" + AnnotationNamespace.URI + "'/>";
            if (!annotation.contains("xmlns:vt")) {
                annotation = annotation.replaceFirst("<vt:tune", "<vt:tune xmlns:vt='" + AnnotationNamespace.URI + "'");
            }
            new AnnotationBinderFuzzTest().bind(annotation.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }));
    }
}
