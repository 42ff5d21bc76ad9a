/**
 * The command line: {@link io.vfiotune.cli.Main} (the class the installed hook and the
 * launcher start, so it never moves) and one picocli command per verb, with what they share:
 * reading a domain and planning it ({@code Planning}), the host-fact options, the libvirt
 * connection option. A command's work that is more than parsing and printing lives in the
 * package that says what it is: {@code io.vfiotune.hook}, {@code gate}, {@code apply},
 * {@code adapters}, {@code report}.
 */
package io.vfiotune.cli;
