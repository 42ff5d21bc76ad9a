/**
 * Management stacks that write the domain XML themselves: KubeVirt's sidecar
 * ({@code onDefineDomain}) and oVirt's VDSM {@code before_vm_start} hook. Each supplies the
 * {@code <vt:tune>} its stack cannot put in the domain and plans through the same planner.
 */
package io.vfiotune.adapters;
