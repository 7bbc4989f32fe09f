package dev.imagegen.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.BigInteger;

import org.junit.jupiter.api.Test;

/** Numbers with client-chosen exponents render and store short (a plain rendering would be a billion digits). */
class NumbersTest {

    @Test
    void briefRendersExtremeExponentsInScientificNotation() {
        assertEquals("1E+999999999", Numbers.brief(new BigDecimal("1e999999999")));
        assertEquals("1E-999999999", Numbers.brief(new BigDecimal("1e-999999999")));
        assertEquals("-1E+999999999", Numbers.brief(new BigDecimal("-1e999999999")));
    }

    @Test
    void briefRendersOrdinaryNumbersPlainly() {
        assertEquals("50.5", Numbers.brief(new BigDecimal("50.50")));
        assertEquals("100", Numbers.brief(new BigDecimal("1E+2")));
        assertEquals("0", Numbers.brief(new BigDecimal("-0.0")));
        assertEquals("2048", Numbers.brief(BigInteger.valueOf(2048)));
    }

    @Test
    void briefShortensLongMantissas() {
        String fourHundredNines = Numbers.brief(new BigInteger("9".repeat(400)));
        assertEquals("1E+400", fourHundredNines);
        String thirds = Numbers.brief(new BigDecimal("0." + "3".repeat(900)));
        assertEquals("0.3333333333333333", thirds);
    }

    @Test
    void briefSurvivesAScaleThatRoundingWouldOverflow() {
        BigDecimal v = new BigDecimal(new BigInteger("7".repeat(900)), Integer.MIN_VALUE + 10);
        assertTrue(Numbers.brief(v).length() < 40, Numbers.brief(v));
    }

    @Test
    void saneStoresTheNearestDoubleOrZero() {
        assertEquals(BigDecimal.ZERO, Numbers.sane(new BigDecimal("1e-999999999")));
        assertEquals(BigDecimal.ZERO, Numbers.sane(new BigDecimal("0e-999999999")));
        assertEquals(new BigDecimal("7.5"), Numbers.sane(new BigDecimal("7.50000000000000000000000001")));
        assertEquals(new BigDecimal("0.1"), Numbers.sane(new BigDecimal("0.1")));
        assertTrue(Numbers.sane(new BigDecimal("0." + "3".repeat(900))).toPlainString().length() < 24);
    }
}
