/**
 * The resident gate: a long-lived JVM (the watch service) that answers the hook's
 * {@code prepare begin} questions through a spool directory only its own user can enter (mode
 * 0700; root's, as the package installs it), so that a VM start
 * does not pay for a JVM. {@code GateSpool} is the service side, {@code GateQuestion} one
 * question's files and answer, {@code GatePidFile} how a launcher knows someone answers, and
 * {@code ResidentGate} starts it and writes the launcher's shell side. The judge it answers with
 * comes from the command line ({@code io.vfiotune.cli.HookJudge}, the hook's own command), so
 * the gate uses no command.
 */
package io.vfiotune.gate;
