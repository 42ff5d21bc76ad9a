/**
 * Guice wiring: which probe and which transforms a run gets, from the host settings. Nothing
 * else is constructed here; every class takes what it needs in its constructor.
 */
package io.vfiotune.wiring;
