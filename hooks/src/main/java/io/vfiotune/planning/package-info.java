/**
 * What every command that plans shares: the {@code Console} it reads and writes (and the
 * environment its settings come from), the host-fact options ({@code FactsOptions}), reading a
 * domain and planning it with the wired host ({@code Planning}), and the unified diff of a
 * rewrite. The command line, the gate, apply/watch and the adapters all use it; it uses none of
 * them.
 */
package io.vfiotune.planning;
