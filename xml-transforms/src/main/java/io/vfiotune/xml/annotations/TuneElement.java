package io.vfiotune.xml.annotations;

import jakarta.xml.bind.annotation.XmlAccessType;
import jakarta.xml.bind.annotation.XmlAccessorType;
import jakarta.xml.bind.annotation.XmlAttribute;
import jakarta.xml.bind.annotation.XmlElement;
import jakarta.xml.bind.annotation.XmlRootElement;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code <vt:tune>}. Values are strings here; the schema has already restricted them.
 * Children come in any order, so each one-of element is a list the binder checks
 * for a second occurrence (JAXB would otherwise keep the last one silently).
 */
@XmlRootElement(name = "tune")
@XmlAccessorType(XmlAccessType.FIELD)
public class TuneElement {
    @XmlAttribute(name = "on-mismatch")
    String onMismatch;

    @XmlElement(name = "cliques")
    List<ModeElement> cliques = new ArrayList<>();

    @XmlElement(name = "msix-relocation")
    List<ModeElement> msixRelocation = new ArrayList<>();

    @XmlElement(name = "spapr-phbs")
    List<ModeElement> spaprPhbs = new ArrayList<>();

    @XmlElement(name = "igd")
    List<ModeElement> igd = new ArrayList<>();

    @XmlElement(name = "topology")
    List<ModeElement> topology = new ArrayList<>();

    @XmlElement(name = "grace")
    List<ModeElement> grace = new ArrayList<>();

    @XmlElement(name = "hostdev")
    List<HostdevElement> hostdevs = new ArrayList<>();

    @XmlElement(name = "generated")
    List<GeneratedElement> generated = new ArrayList<>();

    @XmlAccessorType(XmlAccessType.FIELD)
    public static class ModeElement {
        @XmlAttribute(name = "mode")
        String mode;
    }

    @XmlAccessorType(XmlAccessType.FIELD)
    public static class HostdevElement {
        @XmlAttribute(name = "host", required = true)
        String host;

        @XmlAttribute(name = "clique")
        String clique;

        @XmlAttribute(name = "msix-relocation")
        String msixRelocation;
    }
}
