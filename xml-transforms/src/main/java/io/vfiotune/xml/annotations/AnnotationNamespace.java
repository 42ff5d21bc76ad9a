package io.vfiotune.xml.annotations;

public final class AnnotationNamespace {
    public static final String URI = "urn:vfio-tune:1";
    public static final String SCHEMA_RESOURCE = "vfio-tune-1.xsd";

    private AnnotationNamespace() {
    }
}
