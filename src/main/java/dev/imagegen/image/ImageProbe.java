package dev.imagegen.image;

import io.vertx.mutiny.core.buffer.Buffer;

/**
 * Sniffs the first bytes of a stream: the content type from its magic bytes and the pixel size from
 * its header, without decoding the image.
 *
 * <p>Feed it the chunks of a stream in order with {@link #feed}; it looks at as few bytes as it needs
 * and ignores everything after {@link #done()}. Memory is bounded and does not depend on the input:
 * a 32-byte header buffer plus a few counters. JPEG segments before the frame header (EXIF, ICC
 * profiles, thumbnails) are skipped by their declared length, never buffered.
 *
 * <p>Recognised formats:
 * <ul>
 *   <li>PNG: width and height from the IHDR chunk, which the format requires to come first;</li>
 *   <li>JPEG: width and height from the first SOFn marker (baseline, progressive, lossless,
 *       arithmetic), found by walking the marker segments. A frame header that starts beyond
 *       {@link #DEFAULT_SCAN_LIMIT} bytes (or the limit given to the constructor) is not looked for:
 *       the type is still {@code image/jpeg} but the size is unknown;</li>
 *   <li>WebP: the first chunk of the RIFF container, {@code VP8 } (lossy key frame header),
 *       {@code VP8L} (lossless header) or {@code VP8X} (extended: canvas size).</li>
 * </ul>
 * Anything else is {@code application/octet-stream} with no size. A recognised type whose header is
 * malformed keeps its type, with no size. Not thread-safe: one probe per stream.
 */
public final class ImageProbe {

    public static final String PNG = "image/png";
    public static final String JPEG = "image/jpeg";
    public static final String WEBP = "image/webp";
    public static final String OCTET_STREAM = "application/octet-stream";

    /** How far into a stream a JPEG frame header is looked for, by default (256 KiB). */
    public static final int DEFAULT_SCAN_LIMIT = 256 * 1024;

    private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    private static final int HEADER_SIZE = 32;

    private enum Format { UNKNOWN, PNG, JPEG, WEBP, OTHER }

    /** JPEG marker-walk states. */
    private enum JpegState { MARKER_START, MARKER_CODE, LENGTH_HIGH, LENGTH_LOW, SKIP, SOF }

    private final long scanLimit;
    private final byte[] header = new byte[HEADER_SIZE];
    private int headerLength;
    private long consumed;

    private Format format = Format.UNKNOWN;
    private boolean done;
    private Integer width;
    private Integer height;

    private JpegState jpegState = JpegState.MARKER_START;
    private int jpegMarker;
    private int jpegLength;
    private long jpegSkip;
    private final byte[] sof = new byte[5];
    private int sofLength;

    public ImageProbe() {
        this(DEFAULT_SCAN_LIMIT);
    }

    /** @param scanLimit bytes after which a JPEG frame header is no longer looked for (at least 64) */
    public ImageProbe(int scanLimit) {
        if (scanLimit < 64) {
            throw new IllegalArgumentException("scanLimit must be at least 64 bytes");
        }
        this.scanLimit = scanLimit;
    }

    /** Feeds the next chunk of the stream. Does nothing once {@link #done()}. */
    public void feed(Buffer chunk) {
        if (chunk != null) {
            feed(new BufferSource(chunk), chunk.length());
        }
    }

    /** Feeds the next chunk of the stream. Does nothing once {@link #done()}. */
    public void feed(byte[] chunk) {
        if (chunk != null) {
            feed(chunk, 0, chunk.length);
        }
    }

    /** Feeds {@code length} bytes of {@code chunk} from {@code offset}. Does nothing once {@link #done()}. */
    public void feed(byte[] chunk, int offset, int length) {
        if (offset < 0 || length < 0 || offset + length > chunk.length) {
            throw new IndexOutOfBoundsException("offset " + offset + ", length " + length + ", array " + chunk.length);
        }
        feed(i -> chunk[offset + i], length);
    }

    /** Tells the probe the stream ended: whatever is still unknown stays unknown. */
    public void end() {
        if (!done) {
            if (format == Format.UNKNOWN) {
                format = detect(true);
            }
            done = true;
        }
    }

    /** True once nothing more is needed: type and size are known, or will never be. */
    public boolean done() {
        return done;
    }

    /** True once the content type is settled (it no longer changes whatever comes next). */
    public boolean contentTypeKnown() {
        return format != Format.UNKNOWN;
    }

    /**
     * {@code image/png}, {@code image/jpeg}, {@code image/webp}, or {@code application/octet-stream}
     * (also while too few bytes have been seen to tell).
     */
    public String contentType() {
        return switch (format) {
            case PNG -> PNG;
            case JPEG -> JPEG;
            case WEBP -> WEBP;
            case UNKNOWN, OTHER -> OCTET_STREAM;
        };
    }

    /** Width in pixels read from the header, or {@code null} when unknown. */
    public Integer width() {
        return width;
    }

    /** Height in pixels read from the header, or {@code null} when unknown. */
    public Integer height() {
        return height;
    }

    /** Bytes looked at so far (bytes fed after {@link #done()} are not counted). */
    public long bytesExamined() {
        return consumed;
    }

    @FunctionalInterface
    private interface ByteSource {
        byte at(int index);
    }

    private record BufferSource(Buffer buffer) implements ByteSource {
        @Override
        public byte at(int index) {
            return buffer.getByte(index);
        }
    }

    private void feed(ByteSource src, int length) {
        int pos = 0;
        while (pos < length && !done) {
            if (format == Format.UNKNOWN || format == Format.PNG || format == Format.WEBP) {
                int n = Math.min(length - pos, HEADER_SIZE - headerLength);
                for (int i = 0; i < n; i++) {
                    header[headerLength++] = src.at(pos + i);
                }
                pos += n;
                consumed += n;
                if (format == Format.UNKNOWN) {
                    format = detect(false);
                    if (format == Format.JPEG) {
                        // The marker walk re-reads the bytes already collected, past the SOI marker.
                        for (int i = 2; i < headerLength && !done; i++) {
                            jpegByte(header[i]);
                        }
                        continue;
                    }
                }
                if (format == Format.PNG) {
                    parsePng();
                } else if (format == Format.WEBP) {
                    parseWebp();
                } else if (format == Format.OTHER) {
                    done = true;
                }
                if (!done && headerLength == HEADER_SIZE) {
                    done = true; // cannot happen with the formats above; guards against looping forever
                }
            } else if (format == Format.JPEG) {
                if (jpegState == JpegState.SKIP) {
                    long n = Math.min(length - pos, jpegSkip);
                    pos += (int) n;
                    consumed += n;
                    jpegSkip -= n;
                    if (jpegSkip == 0) {
                        jpegState = JpegState.MARKER_START;
                    }
                } else {
                    jpegByte(src.at(pos));
                    pos++;
                    consumed++;
                }
                if (!done && consumed >= scanLimit) {
                    done = true;
                }
            } else {
                done = true;
            }
        }
        if (!done && format == Format.JPEG && consumed >= scanLimit) {
            done = true;
        }
    }

    /** Decides the format from the header collected so far; UNKNOWN when more bytes are needed. */
    private Format detect(boolean atEnd) {
        int n = headerLength;
        if (n == 0) {
            return atEnd ? Format.OTHER : Format.UNKNOWN;
        }
        boolean maybePng = startsWith(PNG_MAGIC, n);
        boolean maybeJpeg = startsWith(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}, n);
        boolean maybeWebp = startsWith(new byte[] {'R', 'I', 'F', 'F'}, n)
                && (n <= 8 || matchesAt(8, new byte[] {'W', 'E', 'B', 'P'}, n));
        if (maybePng && n >= PNG_MAGIC.length) {
            return Format.PNG;
        }
        if (maybeJpeg && n >= 3) {
            return Format.JPEG;
        }
        if (maybeWebp && n >= 12) {
            return Format.WEBP;
        }
        if (!maybePng && !maybeJpeg && !maybeWebp) {
            return Format.OTHER;
        }
        return atEnd ? Format.OTHER : Format.UNKNOWN;
    }

    private boolean startsWith(byte[] magic, int available) {
        return matchesAt(0, magic, available);
    }

    /** Whether the available part of the header agrees with {@code magic} at {@code offset}. */
    private boolean matchesAt(int offset, byte[] magic, int available) {
        for (int i = 0; i < magic.length && offset + i < available; i++) {
            if (header[offset + i] != magic[i]) {
                return false;
            }
        }
        return true;
    }

    // ---- PNG: signature (8) | IHDR length (4) | "IHDR" (4) | width (4, BE) | height (4, BE)

    private void parsePng() {
        if (headerLength < 24) {
            return;
        }
        if (header[12] == 'I' && header[13] == 'H' && header[14] == 'D' && header[15] == 'R') {
            setSize(readInt32BE(16), readInt32BE(20));
        }
        done = true;
    }

    // ---- WebP: "RIFF" | size (4) | "WEBP" | chunk fourcc (4) | chunk size (4) | chunk data (from 20)

    private void parseWebp() {
        if (headerLength < 16) {
            return;
        }
        String fourcc = new String(header, 12, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
        switch (fourcc) {
            case "VP8 " -> {
                // frame tag (3 bytes) | start code 9d 01 2a | width (14 bits LE) | height (14 bits LE)
                if (headerLength < 30) {
                    return;
                }
                boolean keyFrame = (header[20] & 0x01) == 0;
                if (keyFrame && u8(23) == 0x9d && u8(24) == 0x01 && u8(25) == 0x2a) {
                    setSize(readUInt16LE(26) & 0x3fff, readUInt16LE(28) & 0x3fff);
                }
            }
            case "VP8L" -> {
                // signature 0x2f | 14 bits width-1 | 14 bits height-1 | ... (little-endian bit stream)
                if (headerLength < 25) {
                    return;
                }
                if (u8(20) == 0x2f) {
                    long bits = u8(21) | (u8(22) << 8) | (u8(23) << 16) | ((long) u8(24) << 24);
                    setSize((int) (bits & 0x3fff) + 1, (int) ((bits >> 14) & 0x3fff) + 1);
                }
            }
            case "VP8X" -> {
                // flags (1) | reserved (3) | canvas width-1 (24 bits LE) | canvas height-1 (24 bits LE)
                if (headerLength < 30) {
                    return;
                }
                setSize(readUInt24LE(24) + 1, readUInt24LE(27) + 1);
            }
            default -> {
                // not a still-image WebP chunk we know: type only
            }
        }
        done = true;
    }

    // ---- JPEG: SOI, then segments FF xx [length (2, BE, includes itself) payload] until SOFn

    /** One byte of the marker walk. */
    private void jpegByte(byte value) {
        int b = value & 0xff;
        switch (jpegState) {
            case MARKER_START -> {
                if (b != 0xFF) {
                    done = true; // not a marker where one must be: malformed
                } else {
                    jpegState = JpegState.MARKER_CODE;
                }
            }
            case MARKER_CODE -> {
                if (b == 0xFF) {
                    return; // fill byte
                }
                jpegMarker = b;
                if (b == 0xD8 || b == 0x01 || (b >= 0xD0 && b <= 0xD7)) {
                    jpegState = JpegState.MARKER_START; // stand-alone marker, no length
                } else if (b == 0xD9 || b == 0xDA || b == 0x00) {
                    done = true; // end of image or start of scan before any frame header
                } else {
                    jpegState = JpegState.LENGTH_HIGH;
                }
            }
            case LENGTH_HIGH -> {
                jpegLength = b << 8;
                jpegState = JpegState.LENGTH_LOW;
            }
            case LENGTH_LOW -> {
                jpegLength |= b;
                if (jpegLength < 2) {
                    done = true;
                } else if (isSof(jpegMarker)) {
                    if (jpegLength < 2 + sof.length) {
                        done = true;
                    } else {
                        sofLength = 0;
                        jpegState = JpegState.SOF;
                    }
                } else {
                    jpegSkip = jpegLength - 2L;
                    jpegState = jpegSkip == 0 ? JpegState.MARKER_START : JpegState.SKIP;
                }
            }
            case SKIP -> {
                // only reached while replaying the header buffer
                if (--jpegSkip == 0) {
                    jpegState = JpegState.MARKER_START;
                }
            }
            case SOF -> {
                sof[sofLength++] = value;
                if (sofLength == sof.length) {
                    // precision (1) | height (2, BE) | width (2, BE)
                    int h = ((sof[1] & 0xff) << 8) | (sof[2] & 0xff);
                    int w = ((sof[3] & 0xff) << 8) | (sof[4] & 0xff);
                    setSize(w, h);
                    done = true;
                }
            }
            default -> throw new IllegalStateException("unreachable");
        }
    }

    private static boolean isSof(int marker) {
        return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    }

    private void setSize(long w, long h) {
        if (w > 0 && h > 0 && w <= Integer.MAX_VALUE && h <= Integer.MAX_VALUE) {
            width = (int) w;
            height = (int) h;
        }
    }

    private int u8(int index) {
        return header[index] & 0xff;
    }

    private long readInt32BE(int index) {
        return ((long) u8(index) << 24) | (u8(index + 1) << 16) | (u8(index + 2) << 8) | u8(index + 3);
    }

    private int readUInt16LE(int index) {
        return u8(index) | (u8(index + 1) << 8);
    }

    private int readUInt24LE(int index) {
        return u8(index) | (u8(index + 1) << 8) | (u8(index + 2) << 16);
    }
}
