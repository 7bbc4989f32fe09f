package dev.imagegen.api;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;

/**
 * Numbers from hostile clients, in constant work. A JSON number such as {@code 1e-999999999} is a tiny
 * {@link BigDecimal} (unscaled 1, scale 999999999), but {@code toPlainString()} of it is a billion
 * characters: nothing here ever expands a number whose scale the client chose.
 */
public final class Numbers {

    /** Enough digits to tell a value from its limit in a message, few enough to keep it short. */
    private static final MathContext MESSAGE_DIGITS = new MathContext(16);

    /** Below this magnitude a value is zero for any model input (and as a double, exactly 0 or close). */
    private static final int SMALLEST_EXPONENT = -20;

    private Numbers() {
    }

    /**
     * A short rendering for error messages: at most 16 significant digits, plain notation for ordinary
     * magnitudes, scientific notation ({@code 1E+999999999}) otherwise.
     */
    public static String brief(BigDecimal v) {
        try {
            BigDecimal r = v.round(MESSAGE_DIGITS).stripTrailingZeros();
            long exponent = (long) r.precision() - r.scale() - 1;
            return exponent >= -6 && exponent <= 21 ? r.toPlainString() : r.toString();
        } catch (ArithmeticException e) {
            // rounding pushed the scale past an int (a 1000-digit mantissa with an exponent near 2^31)
            return "a number of extreme magnitude";
        }
    }

    /** A short rendering of an integer of any length (a 400-digit integer becomes {@code 1.234…E+399}). */
    public static String brief(BigInteger v) {
        return v.bitLength() < 64 ? v.toString() : brief(new BigDecimal(v));
    }

    /**
     * The value to store for an accepted, in-range decimal: the nearest double (at most 17 significant
     * digits and a small exponent), so that every later rendering is short. Call it only on a value whose
     * magnitude is already checked against a sane limit.
     */
    public static BigDecimal sane(BigDecimal v) {
        if (v.signum() == 0 || (long) v.precision() - v.scale() - 1 < SMALLEST_EXPONENT) {
            return BigDecimal.ZERO;
        }
        return BigDecimal.valueOf(v.doubleValue());
    }
}
