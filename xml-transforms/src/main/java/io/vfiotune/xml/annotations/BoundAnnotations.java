package io.vfiotune.xml.annotations;

import io.vfiotune.spi.TuneAnnotations;

import java.util.List;

/** The annotations a domain asks for, and the record of what vfio-tune generated before. */
public record BoundAnnotations(TuneAnnotations annotations, List<GeneratedElement.Item> generated) {
    public BoundAnnotations {
        generated = List.copyOf(generated);
    }
}
