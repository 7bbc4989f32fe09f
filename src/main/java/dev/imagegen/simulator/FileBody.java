package dev.imagegen.simulator;

/**
 * What an output-file download sends: the first {@code sentLength} bytes of {@code bytes} followed by
 * zero padding, under a {@code Content-Length} of {@code declaredLength}. When fewer bytes are sent
 * than declared, the connection is closed after them (a truncated download).
 *
 * @param bytes          the file content (normally a PNG)
 * @param declaredLength the {@code Content-Length} header
 * @param sentLength     how many bytes are actually sent (at most {@code declaredLength})
 */
public record FileBody(byte[] bytes, long declaredLength, long sentLength) {

    public FileBody {
        if (sentLength > declaredLength || sentLength < 0) {
            throw new IllegalArgumentException("sentLength must be 0.." + declaredLength);
        }
    }

    /** The file, whole and as it is. */
    public static FileBody of(byte[] bytes) {
        return new FileBody(bytes, bytes.length, bytes.length);
    }

    /** Declares the whole file but sends only its first half, then drops the connection. */
    public static FileBody truncated(byte[] bytes) {
        return new FileBody(bytes, bytes.length, bytes.length / 2);
    }

    /** The file followed by zero bytes, {@code totalLength} bytes in all (streamed, not held in memory). */
    public static FileBody padded(byte[] bytes, long totalLength) {
        long total = Math.max(totalLength, bytes.length);
        return new FileBody(bytes, total, total);
    }

    /** Whether this is exactly the file (Range requests are honoured only then). */
    public boolean intact() {
        return declaredLength == bytes.length && sentLength == bytes.length;
    }
}
