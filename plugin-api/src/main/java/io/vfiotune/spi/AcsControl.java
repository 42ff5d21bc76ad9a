package io.vfiotune.spi;

/**
 * The ACS control bits that decide whether peer-to-peer traffic below a switch
 * is redirected up to the root complex.
 */
public record AcsControl(boolean sourceValidation, boolean requestRedirect, boolean completionRedirect,
                         boolean upstreamForwarding, boolean directTranslatedP2p) {
    public static AcsControl fromRegister(int control) {
        return new AcsControl((control & 0x01) != 0, (control & 0x04) != 0, (control & 0x08) != 0,
                (control & 0x10) != 0, (control & 0x40) != 0);
    }

    /** Peer-to-peer requests or completions are forced through the root complex. */
    public boolean redirectsPeerToPeer() {
        return requestRedirect || completionRedirect;
    }
}
