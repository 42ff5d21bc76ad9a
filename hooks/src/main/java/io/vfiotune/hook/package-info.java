/**
 * What the installed libvirt hook runs with beyond its command: the AppCDS class archive made
 * at install time and the JVM flags baked into the launcher ({@code HookClassArchive}), the
 * check that the JVM really mapped it ({@code ClassArchiveCheck}), and findings copied to
 * syslog ({@code SyslogTee}).
 */
package io.vfiotune.hook;
