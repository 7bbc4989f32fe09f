package dev.imagegen.worker.download;

import dev.imagegen.replicate.JobException;
import io.smallrye.mutiny.Multi;
import io.vertx.mutiny.core.buffer.Buffer;
import java.util.Arrays;
import java.util.Base64;
import java.util.Locale;

/**
 * The bytes of a {@code data:} URI as a back-pressured {@link Multi}: the payload is decoded straight
 * from the URI string, one chunk of at most {@value #DATA_URI_CHUNK_CHARS} characters per request, so
 * the decoded file is never held whole. {@code ;base64} payloads accept the URL-safe alphabet,
 * white space, missing padding and percent-encoded padding ({@code %3D}); other payloads are
 * percent-decoded. Anything malformed is a PERMANENT {@link JobException}.
 */
public final class DataUriSource {

    static final int DATA_URI_CHUNK_CHARS = 64 * 1024;
    private static final int MAX_DATA_URI_HEADER = 256;

    private DataUriSource() {
    }

    /** Whether {@code url} (already stripped) is a {@code data:} URI, in any case. */
    public static boolean isDataUri(String url) {
        return url.regionMatches(true, 0, "data:", 0, 5);
    }

    /**
     * The decoded bytes of {@code uri}, decoded as they are requested.
     *
     * @throws JobException PERMANENT when the URI has no {@code ,} within its first
     *         {@value #MAX_DATA_URI_HEADER} characters; a bad payload fails the stream instead
     */
    public static Multi<Buffer> open(String uri) {
        int comma = uri.indexOf(',');
        if (comma < 0 || comma > MAX_DATA_URI_HEADER) {
            throw JobException.permanent("the output data URI is malformed");
        }
        String header = uri.substring(5, comma).toLowerCase(Locale.ROOT);
        boolean base64 = header.endsWith(";base64");
        DataDecoder decoder = base64
                ? new Base64Decoder(uri, comma + 1)
                : new PercentDecoder(uri, comma + 1);
        // One chunk per request: the generator is called only when downstream asks for more.
        return Multi.createFrom().generator(() -> decoder, (d, emitter) -> {
            try {
                Buffer chunk = d.next();
                if (chunk == null) {
                    emitter.complete();
                } else {
                    emitter.emit(chunk);
                }
            } catch (JobException e) {
                emitter.fail(e);
            }
            return d;
        });
    }

    /** Decodes a data URI's payload a chunk at a time, straight from the URI string. */
    private abstract static class DataDecoder {
        final String source;
        int position;

        DataDecoder(String source, int start) {
            this.source = source;
            this.position = start;
        }

        /** The next decoded chunk, or {@code null} at the end. */
        abstract Buffer next();
    }

    private static final class Base64Decoder extends DataDecoder {
        private final byte[] carry = new byte[4];
        private int carryLength;

        Base64Decoder(String source, int start) {
            super(source, start);
        }

        @Override
        Buffer next() {
            int end = source.length();
            while (position < end || carryLength > 0) {
                int stop = Math.min(end, position + DATA_URI_CHUNK_CHARS);
                byte[] in = new byte[carryLength + (stop - position)];
                System.arraycopy(carry, 0, in, 0, carryLength);
                int n = carryLength;
                int i = position;
                while (i < stop) {
                    char c = source.charAt(i++);
                    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                        continue;
                    }
                    if (c == '%') {
                        // percent-encoded padding ("%3D") is the only escape base64 needs
                        if (!source.regionMatches(true, i, "3D", 0, 2)) {
                            throw JobException.permanent("the output data URI is not valid base64");
                        }
                        c = '=';
                        i += 2;
                    } else if (c == '-') {
                        c = '+';
                    } else if (c == '_') {
                        c = '/';
                    }
                    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                            || c == '+' || c == '/' || c == '=')) {
                        throw JobException.permanent("the output data URI is not valid base64");
                    }
                    in[n++] = (byte) c;
                }
                position = i;
                int usable = position >= end ? n : n - n % 4;
                carryLength = n - usable;
                System.arraycopy(in, usable, carry, 0, carryLength);
                if (usable == 0) {
                    if (position >= end) {
                        carryLength = 0;
                        return null;
                    }
                    continue;
                }
                try {
                    byte[] decoded = Base64.getDecoder().decode(usable == in.length ? in : Arrays.copyOf(in, usable));
                    if (decoded.length == 0) {
                        continue;
                    }
                    return Buffer.buffer(decoded);
                } catch (IllegalArgumentException e) {
                    throw JobException.permanent("the output data URI is not valid base64");
                }
            }
            return null;
        }
    }

    private static final class PercentDecoder extends DataDecoder {
        PercentDecoder(String source, int start) {
            super(source, start);
        }

        @Override
        Buffer next() {
            int end = source.length();
            if (position >= end) {
                return null;
            }
            int stop = Math.min(end, position + DATA_URI_CHUNK_CHARS);
            byte[] out = new byte[stop - position];
            int n = 0;
            int i = position;
            while (i < stop) {
                char c = source.charAt(i);
                if (c == '%') {
                    if (i + 2 >= end) {
                        throw JobException.permanent("the output data URI has a bad percent escape");
                    }
                    int hi = Character.digit(source.charAt(i + 1), 16);
                    int lo = Character.digit(source.charAt(i + 2), 16);
                    if (hi < 0 || lo < 0) {
                        throw JobException.permanent("the output data URI has a bad percent escape");
                    }
                    out[n++] = (byte) ((hi << 4) | lo);
                    i += 3;
                } else if (c > 0xff) {
                    throw JobException.permanent("the output data URI holds a character that is not a byte");
                } else {
                    out[n++] = (byte) c;
                    i++;
                }
            }
            position = i;
            return Buffer.buffer(Arrays.copyOf(out, n));
        }
    }
}
