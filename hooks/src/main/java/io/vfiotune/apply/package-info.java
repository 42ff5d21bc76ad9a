/**
 * Rewriting a defined domain through libvirt (libvirt-java): {@code apply} once, and
 * {@code watch} for every define. libvirt ignores a hook's output at start, so this is where
 * a plan reaches the domain libvirt keeps.
 */
package io.vfiotune.apply;
