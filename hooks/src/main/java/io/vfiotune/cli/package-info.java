/**
 * The command line: {@link io.vfiotune.cli.Main} (the class the installed hook and the
 * launcher start, so it never moves) and one picocli command per verb, among them the hook
 * itself ({@code HookCommand}), {@code install-hook} with the launchers it writes, and the
 * build-time generator of man pages and completion ({@code Documentation}). Nothing else uses
 * this package: what commands share (the console, the host-fact options, planning a domain,
 * diffs) is in {@code io.vfiotune.planning}, and the gate, apply/watch, the adapters' entry
 * points and the probe's reports are in packages of their own that the commands call.
 */
package io.vfiotune.cli;
