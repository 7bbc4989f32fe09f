package dev.imagegen.replicate.simulator;

import java.security.SecureRandom;

/** Prediction ids as Replicate makes them: 26 lower-case characters of a base32 alphabet with digits. */
final class Ids {

    private static final String ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {
    }

    static String next() {
        byte[] bytes = new byte[26];
        RANDOM.nextBytes(bytes);
        StringBuilder b = new StringBuilder(26);
        for (byte x : bytes) {
            b.append(ALPHABET.charAt(x & 31));
        }
        return b.toString();
    }
}
