package io.vfiotune.spi;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A libvirt or QEMU version, compared numerically. */
public record Version(int major, int minor, int micro) implements Comparable<Version> {
    private static final Pattern DOTTED = Pattern.compile("(\\d+)\\.(\\d+)(?:\\.(\\d+))?");

    public Version {
        if (major < 0 || minor < 0 || micro < 0) {
            throw new IllegalArgumentException("negative version component");
        }
    }

    /** Parses {@code X.Y} or {@code X.Y.Z}. */
    public static Version parse(String text) {
        Matcher matcher = DOTTED.matcher(text == null ? "" : text.trim());
        if (!matcher.matches()) {
            throw new IllegalArgumentException("not a version of the form X.Y.Z: '" + text + "'");
        }
        return fromMatch(matcher);
    }

    /** Finds the first dotted version inside free text, such as QEMU's {@code --version} banner. */
    public static java.util.Optional<Version> find(String text) {
        Matcher matcher = DOTTED.matcher(text == null ? "" : text);
        return matcher.find() ? java.util.Optional.of(fromMatch(matcher)) : java.util.Optional.empty();
    }

    /** libvirt's packed form, major * 1,000,000 + minor * 1,000 + micro, as virGetVersion returns it. */
    public static Version fromPacked(long packed) {
        return new Version((int) (packed / 1_000_000), (int) (packed / 1_000 % 1_000), (int) (packed % 1_000));
    }

    private static Version fromMatch(Matcher matcher) {
        try {
            return new Version(Integer.parseInt(matcher.group(1)), Integer.parseInt(matcher.group(2)),
                    matcher.group(3) == null ? 0 : Integer.parseInt(matcher.group(3)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("version component too large in '" + matcher.group() + "'");
        }
    }

    public boolean atLeast(int major, int minor) {
        return compareTo(new Version(major, minor, 0)) >= 0;
    }

    @Override
    public int compareTo(Version other) {
        int result = Integer.compare(major, other.major);
        if (result == 0) {
            result = Integer.compare(minor, other.minor);
        }
        return result != 0 ? result : Integer.compare(micro, other.micro);
    }

    @Override
    public String toString() {
        return major + "." + minor + "." + micro;
    }
}
