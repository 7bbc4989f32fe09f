package dev.imagegen.simulator;

import java.security.SecureRandom;

/**
 * Prediction and webhook-message ids as Replicate makes them: 26 lower-case characters of a base32 alphabet
 * with digits.
 * <p>
 * One instance per simulator, created when the simulator is: never a static {@link SecureRandom}, which a
 * native image would create (and seed) at build time, handing every process the same sequence.
 */
final class Ids {

    private static final String ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

    private final SecureRandom random = new SecureRandom();

    String next() {
        byte[] bytes = new byte[26];
        random.nextBytes(bytes);
        StringBuilder b = new StringBuilder(26);
        for (byte x : bytes) {
            b.append(ALPHABET.charAt(x & 31));
        }
        return b.toString();
    }
}
