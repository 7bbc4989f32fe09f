package dev.imagegen.image.rest;

/**
 * One byte range resolved against the size. {@link #parse} answers null for a header to ignore (another
 * unit, several ranges), and {@link #UNSATISFIABLE} for one to refuse with 416.
 */
record ByteRange(long first, long last) {

    static final ByteRange UNSATISFIABLE = new ByteRange(-1, -1);

    boolean satisfiable() {
        return first >= 0;
    }

    long length() {
        return last - first + 1;
    }

    static ByteRange parse(String header, long size) {
        String h = header.trim();
        int eq = h.indexOf('=');
        if (eq < 0 || !h.substring(0, eq).trim().equalsIgnoreCase("bytes")) {
            return null;
        }
        String spec = h.substring(eq + 1).trim();
        if (spec.indexOf(',') >= 0) {
            return null;
        }
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return UNSATISFIABLE;
        }
        String a = spec.substring(0, dash).trim();
        String b = spec.substring(dash + 1).trim();
        if (a.isEmpty()) {
            // bytes=-n: the last n bytes (all of them when n exceeds the size)
            long n = digits(b);
            if (n <= 0 || size == 0) {
                return UNSATISFIABLE;
            }
            return new ByteRange(Math.max(0, size - n), size - 1);
        }
        long first = digits(a);
        long last = b.isEmpty() ? Long.MAX_VALUE : digits(b);
        if (first < 0 || last < 0 || last < first || first >= size) {
            return UNSATISFIABLE;
        }
        return new ByteRange(first, Math.min(last, size - 1));
    }

    /** A non-negative decimal; -1 when it is not one; Long.MAX_VALUE when it does not fit. */
    private static long digits(String s) {
        if (s.isEmpty()) {
            return -1;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return -1;
            }
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }
}
