/** JAXB bindings for the {@code urn:vfio-tune:1} annotations; see {@code vfio-tune-1.xsd}. */
@XmlSchema(namespace = AnnotationNamespace.URI, elementFormDefault = XmlNsForm.QUALIFIED)
package io.vfiotune.xml.annotations;

import jakarta.xml.bind.annotation.XmlNsForm;
import jakarta.xml.bind.annotation.XmlSchema;
