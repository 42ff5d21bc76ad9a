package io.vfiotune.adapters;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;

import java.io.IOException;
import java.util.Optional;

/**
 * What vfio-tune reads of a KubeVirt VirtualMachineInstance, as the sidecar shim passes it
 * ({@code --vmi}, the VMI serialized as JSON): the {@code vfio-tune.io/tune} annotation of
 * its metadata, which holds a {@code <vt:tune>} element.
 */
public final class KubevirtVmi {
    public static final String TUNE_ANNOTATION = "vfio-tune.io/tune";
    /** Far above any VMI; a larger argument cannot even reach a process (docs/operators.md, Stacks that write the XML themselves: size limits). */
    static final int MAX_JSON_CHARS = 10 * 1024 * 1024;
    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(256).maxStringLength(MAX_JSON_CHARS).build()).build();

    private KubevirtVmi() {
    }

    /**
     * The {@code <vt:tune>} the VMI's {@code metadata.annotations} carries, or empty.
     *
     * @throws VfioTuneException (exit 1, {@code VMI-INVALID}) for text that is not a JSON object
     */
    public static Optional<String> tuneAnnotation(String vmiJson) {
        if (vmiJson.length() > MAX_JSON_CHARS) {
            throw invalid("the VMI is larger than " + MAX_JSON_CHARS / (1024 * 1024) + " MiB of JSON");
        }
        Optional<String> found = Optional.empty();
        try (JsonParser parser = JSON.createParser(vmiJson)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw invalid("the VMI is not a JSON object");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                JsonToken value = parser.nextToken();
                if (field.equals("metadata") && value == JsonToken.START_OBJECT) {
                    found = annotationIn(parser);
                } else {
                    parser.skipChildren();
                }
            }
            // read to the end: a truncated or trailing-garbage argument is refused, not half-used
            if (parser.currentToken() != JsonToken.END_OBJECT || parser.nextToken() != null) {
                throw invalid("the VMI JSON does not end where its object does");
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw invalid("the VMI is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw invalid("the VMI cannot be read: " + e.getMessage());
        }
        return found;
    }

    private static Optional<String> annotationIn(JsonParser metadata) throws IOException {
        Optional<String> found = Optional.empty();
        while (metadata.nextToken() == JsonToken.FIELD_NAME) {
            String field = metadata.currentName();
            JsonToken value = metadata.nextToken();
            if (field.equals("annotations") && value == JsonToken.START_OBJECT) {
                while (metadata.nextToken() == JsonToken.FIELD_NAME) {
                    String key = metadata.currentName();
                    JsonToken annotation = metadata.nextToken();
                    if (key.equals(TUNE_ANNOTATION)) {
                        if (annotation != JsonToken.VALUE_STRING) {
                            throw invalid("the " + TUNE_ANNOTATION + " annotation must be a string holding a <vt:tune> element");
                        }
                        found = Optional.of(metadata.getText());
                    } else {
                        metadata.skipChildren();
                    }
                }
            } else {
                metadata.skipChildren();
            }
        }
        return found;
    }

    private static VfioTuneException invalid(String message) {
        return new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("VMI-INVALID", "--vmi", message));
    }
}
