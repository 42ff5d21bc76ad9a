/**
 * The resident gate: a long-lived JVM (the watch service) that answers the hook's
 * {@code prepare begin} questions through a root-only spool directory, so that a VM start
 * does not pay for a JVM. {@code GateSpool} is the service side, {@code GateQuestion} one
 * question's files and answer, {@code GatePidFile} how a launcher knows someone answers, and
 * {@code ResidentGate} the judge and the launcher's shell side.
 */
package io.vfiotune.gate;
