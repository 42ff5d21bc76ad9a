package io.vfiotune.xml.tree;

/** Escaping for the five predefined entities and character references; no DTD entities exist here. */
final class XmlEscaping {
    private XmlEscaping() {
    }

    static String decode(String raw) {
        if (raw.indexOf('&') < 0) {
            return raw;
        }
        StringBuilder out = new StringBuilder(raw.length());
        int i = 0;
        while (i < raw.length()) {
            char c = raw.charAt(i);
            int end = c == '&' ? raw.indexOf(';', i) : -1;
            if (end < 0) {
                out.append(c);
                i++;
                continue;
            }
            String entity = raw.substring(i + 1, end);
            switch (entity) {
                case "lt" -> out.append('<');
                case "gt" -> out.append('>');
                case "amp" -> out.append('&');
                case "quot" -> out.append('"');
                case "apos" -> out.append('\'');
                default -> {
                    if (entity.startsWith("#x")) {
                        out.appendCodePoint(Integer.parseInt(entity.substring(2), 16));
                    } else if (entity.startsWith("#")) {
                        out.appendCodePoint(Integer.parseInt(entity.substring(1)));
                    } else {
                        // The well-formedness check already refused undeclared entities.
                        throw new IllegalStateException("undeclared entity &" + entity + ";");
                    }
                }
            }
            i = end + 1;
        }
        return out.toString();
    }

    static String escapeAttribute(String value, char quote) {
        return escape(value, quote);
    }

    /** Character data: only markup and a carriage return (which parsers fold into a newline) need references. */
    static String escapeText(String value) {
        return escape(value, (char) 0);
    }

    /** {@code quote} 0 escapes for text; otherwise for an attribute in that quote, whose whitespace parsers normalise. */
    private static String escape(String value, char quote) {
        boolean attribute = quote != 0;
        StringBuilder out = new StringBuilder(value.length() + 8);
        for (char c : value.toCharArray()) {
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append(quote == '"' ? "&quot;" : "\"");
                case '\'' -> out.append(quote == '\'' ? "&apos;" : "'");
                case '\n' -> out.append(attribute ? "&#10;" : "\n");
                case '\r' -> out.append("&#13;");
                case '\t' -> out.append(attribute ? "&#9;" : "\t");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
