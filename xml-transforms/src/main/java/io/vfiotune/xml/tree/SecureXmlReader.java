package io.vfiotune.xml.tree;

import io.vfiotune.spi.ExitStatus;
import io.vfiotune.spi.Finding;
import io.vfiotune.spi.VfioTuneException;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import javax.xml.XMLConstants;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.parsers.SAXParser;
import javax.xml.parsers.SAXParserFactory;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;
import org.xml.sax.helpers.DefaultHandler;

/**
 * The only door domain XML comes in by. It bounds the size, insists on UTF-8,
 * and has the JDK parser check well-formedness with DTDs, external entities
 * and entity expansion all refused, before the lossless tree sees the text.
 */
public final class SecureXmlReader {
    /** Far above any real domain definition, far below what could hurt a hook. */
    public static final int MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;
    /** Real domain XML nests about eight levels; 256 leaves room and stops depth bombs early. */
    public static final int MAX_ELEMENT_DEPTH = 256;

    private SecureXmlReader() {
    }

    /** Reads at most the size limit from {@code in} and fails on more, without reading the rest. */
    public static byte[] readBounded(InputStream in, String subject) {
        try {
            byte[] bytes = in.readNBytes(MAX_DOCUMENT_BYTES + 1);
            if (bytes.length > MAX_DOCUMENT_BYTES) {
                throw refuse("XML-TOO-LARGE", subject, "the document is larger than " + (MAX_DOCUMENT_BYTES / (1024 * 1024)) + " MiB; a domain definition never is");
            }
            return bytes;
        } catch (IOException e) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("INPUT-UNREADABLE", subject, "cannot read the input: " + e.getMessage()), e);
        }
    }

    /** Decodes and checks; returns the text the lossless parser may trust. */
    public static String checkedText(byte[] bytes, String subject) {
        if (bytes.length > MAX_DOCUMENT_BYTES) {
            throw refuse("XML-TOO-LARGE", subject, "the document is larger than " + (MAX_DOCUMENT_BYTES / (1024 * 1024)) + " MiB; a domain definition never is");
        }
        if (bytes.length >= 2 && ((bytes[0] == (byte) 0xfe && bytes[1] == (byte) 0xff) || (bytes[0] == (byte) 0xff && bytes[1] == (byte) 0xfe))) {
            throw refuse("XML-ENCODING", subject, "the document is UTF-16; libvirt domain XML is UTF-8");
        }
        if (bytes.length >= 3 && bytes[0] == (byte) 0xef && bytes[1] == (byte) 0xbb && bytes[2] == (byte) 0xbf) {
            throw refuse("XML-ENCODING", subject, "the document starts with a byte-order mark; save it as UTF-8 without BOM");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw refuse("XML-ENCODING", subject, "the document is not valid UTF-8");
        }
        if (text.isBlank()) {
            throw refuse("XML-MALFORMED", subject, "the document is empty");
        }
        checkWellFormed(text, subject);
        return text;
    }

    private static void checkWellFormed(String text, String subject) {
        try {
            SAXParser parser = factory().newSAXParser();
            parser.setProperty(XMLConstants.ACCESS_EXTERNAL_DTD, "");
            parser.setProperty(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
            parser.setProperty("http://www.oracle.com/xml/jaxp/properties/maxElementDepth", MAX_ELEMENT_DEPTH);
            parser.setProperty("http://www.oracle.com/xml/jaxp/properties/entityExpansionLimit", 0);
            InputSource source = new InputSource(new StringReader(text));
            parser.parse(source, new DefaultHandler());
        } catch (SAXParseException e) {
            throw refuse(codeFor(e), subject, describe(e));
        } catch (SAXException e) {
            throw refuse("XML-MALFORMED", subject, "not well-formed XML: " + firstLine(e.getMessage()));
        } catch (ParserConfigurationException | IOException e) {
            throw new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error("INTERNAL", subject, "XML parser setup failed: " + e.getMessage()), e);
        }
    }

    private static SAXParserFactory factory() throws ParserConfigurationException, SAXException {
        SAXParserFactory factory = SAXParserFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setValidating(false);
        factory.setXIncludeAware(false);
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        // No DOCTYPE at all: that alone rules out XXE and entity bombs.
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        factory.setFeature("http://xml.org/sax/features/external-general-entities", false);
        factory.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
        factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        return factory;
    }

    private static String codeFor(SAXParseException e) {
        String message = String.valueOf(e.getMessage());
        if (message.contains("DOCTYPE")) {
            return "XML-DOCTYPE";
        }
        if (message.contains("maxElementDepth") || message.contains("depth")) {
            return "XML-TOO-DEEP";
        }
        return "XML-MALFORMED";
    }

    private static String describe(SAXParseException e) {
        String message = firstLine(e.getMessage());
        if (message.contains("DOCTYPE")) {
            return "the document has a DOCTYPE; domain XML never needs one, and it is refused so no entity can be expanded or fetched";
        }
        if (message.contains("maxElementDepth")) {
            return "elements nest deeper than " + MAX_ELEMENT_DEPTH + " levels";
        }
        return "not well-formed XML at line " + e.getLineNumber() + ", column " + e.getColumnNumber() + ": " + message;
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unknown error";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    public static VfioTuneException refuse(String code, String subject, String message) {
        return new VfioTuneException(ExitStatus.USAGE_OR_INTERNAL, Finding.error(code, subject, message));
    }

}
