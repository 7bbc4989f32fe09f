package dev.imagegen.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.mutiny.core.buffer.Buffer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ImageProbeTest {

    @BeforeAll
    static void headless() {
        System.setProperty("java.awt.headless", "true");
    }

    // ---------------------------------------------------------------- PNG

    @Test
    void readsPngSizeFromIhdr() throws IOException {
        byte[] png = png(321, 123);
        assertProbe(png, ImageProbe.PNG, 321, 123);
    }

    @Test
    void pngNeedsOnlyItsHeader() throws IOException {
        byte[] png = png(640, 480);
        ImageProbe probe = new ImageProbe();
        probe.feed(png);
        assertTrue(probe.done());
        assertTrue(probe.bytesExamined() <= 32, "looked at " + probe.bytesExamined() + " bytes");
    }

    @Test
    void truncatedPngKeepsTypeWithoutSize() throws IOException {
        byte[] png = Arrays.copyOf(png(10, 10), 20);
        ImageProbe probe = new ImageProbe();
        probe.feed(png);
        assertFalse(probe.done());
        probe.end();
        assertTrue(probe.done());
        assertEquals(ImageProbe.PNG, probe.contentType());
        assertNull(probe.width());
        assertNull(probe.height());
    }

    // ---------------------------------------------------------------- JPEG

    @Test
    void readsBaselineJpegSizeFromSof0() throws IOException {
        assertProbe(jpeg(800, 600, false), ImageProbe.JPEG, 800, 600);
    }

    @Test
    void readsProgressiveJpegSizeFromSof2() throws IOException {
        byte[] jpeg = jpeg(333, 77, true);
        assertTrue(containsMarker(jpeg, 0xC2), "the writer produced a progressive frame");
        assertProbe(jpeg, ImageProbe.JPEG, 333, 77);
    }

    @Test
    void skipsLargeAppSegmentsBeforeTheFrameHeader() throws IOException {
        byte[] jpeg = withAppSegments(jpeg(1024, 768, false), 3); // ~196 KiB of APP1 data first
        assertTrue(jpeg.length > 3 * 65_000);
        assertProbe(jpeg, ImageProbe.JPEG, 1024, 768);
    }

    @Test
    void givesUpOnAJpegFrameHeaderBeyondTheScanLimit() throws IOException {
        byte[] jpeg = withAppSegments(jpeg(64, 64, false), 5); // ~327 KiB > 256 KiB
        ImageProbe probe = new ImageProbe();
        feedInChunks(probe, jpeg, 4096);
        assertTrue(probe.done());
        assertEquals(ImageProbe.JPEG, probe.contentType());
        assertNull(probe.width());
        assertTrue(probe.bytesExamined() <= ImageProbe.DEFAULT_SCAN_LIMIT + 4096);

        ImageProbe wider = new ImageProbe(1024 * 1024);
        wider.feed(jpeg);
        assertEquals(64, wider.width());
    }

    @Test
    void jpegWithoutFrameHeaderHasNoSize() {
        byte[] bytes = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xDA, 0, 8, 1, 2, 3, 4, 5, 6};
        ImageProbe probe = new ImageProbe();
        probe.feed(bytes);
        assertTrue(probe.done());
        assertEquals(ImageProbe.JPEG, probe.contentType());
        assertNull(probe.width());
    }

    // ---------------------------------------------------------------- WebP

    @Test
    void readsLossyWebpVp8KeyFrame() {
        // width 1024 with the 2 scale bits set (they must be masked off), height 768
        byte[] data = concat(
                new byte[] {0x10, 0x00, 0x00}, // frame tag: key frame, shown
                new byte[] {(byte) 0x9d, 0x01, 0x2a}, // start code
                le16(0x4000 | 1024), le16(768),
                new byte[40]);
        assertProbe(webp("VP8 ", data), ImageProbe.WEBP, 1024, 768);
    }

    @Test
    void readsLosslessWebpVp8L() {
        long bits = (4000 - 1) | ((long) (3000 - 1) << 14) | (1L << 28); // + alpha hint, version 0
        byte[] data = concat(new byte[] {0x2f}, le32(bits), new byte[40]);
        assertProbe(webp("VP8L", data), ImageProbe.WEBP, 4000, 3000);
    }

    @Test
    void readsExtendedWebpVp8XCanvas() {
        byte[] data = concat(
                new byte[] {0x10, 0, 0, 0}, // flags (alpha), reserved
                le24(20000 - 1), le24(300 - 1),
                new byte[40]);
        assertProbe(webp("VP8X", data), ImageProbe.WEBP, 20000, 300);
    }

    @Test
    void webpWithBrokenVp8StartCodeHasNoSize() {
        byte[] data = concat(new byte[] {0x10, 0x00, 0x00}, new byte[] {1, 2, 3}, le16(10), le16(10), new byte[8]);
        ImageProbe probe = new ImageProbe();
        probe.feed(webp("VP8 ", data));
        assertTrue(probe.done());
        assertEquals(ImageProbe.WEBP, probe.contentType());
        assertNull(probe.width());
    }

    @Test
    void riffThatIsNotWebpIsNotAnImage() {
        byte[] avi = concat("RIFF".getBytes(StandardCharsets.US_ASCII), le32(100), "AVI LIST".getBytes(StandardCharsets.US_ASCII));
        assertProbe(avi, ImageProbe.OCTET_STREAM, null, null);
    }

    // ---------------------------------------------------------------- not images

    @Test
    void garbageIsOctetStream() {
        byte[] garbage = new byte[100_000];
        new Random(42).nextBytes(garbage);
        garbage[0] = 0x00;
        assertProbe(garbage, ImageProbe.OCTET_STREAM, null, null);
        ImageProbe probe = new ImageProbe();
        probe.feed(garbage);
        assertTrue(probe.bytesExamined() <= 32);
    }

    @Test
    void textIsOctetStream() {
        assertProbe("<html>not an image</html>".getBytes(StandardCharsets.UTF_8), ImageProbe.OCTET_STREAM, null, null);
    }

    @Test
    void tooShortToTellIsOctetStreamAtTheEnd() {
        ImageProbe probe = new ImageProbe();
        probe.feed(new byte[] {(byte) 0x89, 'P'});
        assertFalse(probe.contentTypeKnown());
        assertEquals(ImageProbe.OCTET_STREAM, probe.contentType());
        probe.end();
        assertTrue(probe.done());
        assertEquals(ImageProbe.OCTET_STREAM, probe.contentType());

        ImageProbe empty = new ImageProbe();
        empty.end();
        assertTrue(empty.done());
        assertEquals(ImageProbe.OCTET_STREAM, empty.contentType());
    }

    @Test
    void contentTypeIsKnownAsSoonAsTheMagicIsComplete() {
        ImageProbe probe = new ImageProbe();
        probe.feed(new byte[] {(byte) 0xFF, (byte) 0xD8});
        assertFalse(probe.contentTypeKnown());
        probe.feed(new byte[] {(byte) 0xFF});
        assertTrue(probe.contentTypeKnown());
        assertEquals(ImageProbe.JPEG, probe.contentType());
    }

    @Test
    void bytesFedAfterDoneAreIgnored() throws IOException {
        ImageProbe probe = new ImageProbe();
        probe.feed(png(5, 6));
        probe.feed(new byte[1_000_000]);
        assertEquals(5, probe.width());
        assertTrue(probe.bytesExamined() <= 32);
    }

    // ---------------------------------------------------------------- helpers

    /** Feeds the bytes whole, one at a time, in odd-sized chunks, and as Vert.x buffers: same answer. */
    private static void assertProbe(byte[] bytes, String type, Integer width, Integer height) {
        ImageProbe whole = new ImageProbe();
        whole.feed(bytes);
        whole.end();
        check("whole", whole, type, width, height);

        ImageProbe single = new ImageProbe();
        for (int i = 0; i < bytes.length && !single.done(); i++) {
            single.feed(new byte[] {bytes[i]});
        }
        single.end();
        check("byte at a time", single, type, width, height);

        ImageProbe odd = new ImageProbe();
        feedInChunks(odd, bytes, 7);
        odd.end();
        check("7-byte chunks", odd, type, width, height);

        ImageProbe buffers = new ImageProbe();
        for (int i = 0; i < bytes.length; i += 1000) {
            buffers.feed(Buffer.buffer(Arrays.copyOfRange(bytes, i, Math.min(bytes.length, i + 1000))));
        }
        buffers.end();
        check("buffers", buffers, type, width, height);
    }

    private static void check(String how, ImageProbe probe, String type, Integer width, Integer height) {
        assertTrue(probe.done(), how);
        assertEquals(type, probe.contentType(), how);
        assertEquals(width, probe.width(), how);
        assertEquals(height, probe.height(), how);
    }

    private static void feedInChunks(ImageProbe probe, byte[] bytes, int size) {
        for (int i = 0; i < bytes.length && !probe.done(); i += size) {
            int len = Math.min(size, bytes.length - i);
            probe.feed(bytes, i, len);
        }
    }

    static byte[] png(int width, int height) throws IOException {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_ARGB);
        image.setRGB(0, 0, 0xff336699);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(image, "png", out));
        return out.toByteArray();
    }

    static byte[] jpeg(int width, int height, boolean progressive) throws IOException {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(7);
        for (int y = 0; y < height; y += 4) {
            for (int x = 0; x < width; x += 4) {
                image.setRGB(x, y, random.nextInt());
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
            writer.setOutput(stream);
            ImageWriteParam param = writer.getDefaultWriteParam();
            if (progressive) {
                param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
            }
            writer.write(null, new IIOImage(image, null, null), param);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    /** Inserts {@code count} maximal APP1 segments right after SOI. */
    static byte[] withAppSegments(byte[] jpeg, int count) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(jpeg, 0, 2);
        for (int i = 0; i < count; i++) {
            out.write(0xFF);
            out.write(0xE1);
            out.write(0xFF);
            out.write(0xFF);
            byte[] payload = new byte[0xFFFF - 2];
            Arrays.fill(payload, (byte) 0xFF); // marker-like bytes inside a segment must be skipped
            out.write(payload, 0, payload.length);
        }
        out.write(jpeg, 2, jpeg.length - 2);
        return out.toByteArray();
    }

    private static boolean containsMarker(byte[] jpeg, int marker) {
        for (int i = 0; i + 1 < jpeg.length; i++) {
            if ((jpeg[i] & 0xff) == 0xFF && (jpeg[i + 1] & 0xff) == marker) {
                return true;
            }
        }
        return false;
    }

    static byte[] webp(String fourcc, byte[] chunkData) {
        byte[] chunk = concat(fourcc.getBytes(StandardCharsets.US_ASCII), le32(chunkData.length), chunkData);
        return concat("RIFF".getBytes(StandardCharsets.US_ASCII), le32(4 + chunk.length),
                "WEBP".getBytes(StandardCharsets.US_ASCII), chunk);
    }

    private static byte[] le16(int v) {
        return new byte[] {(byte) v, (byte) (v >> 8)};
    }

    private static byte[] le24(int v) {
        return new byte[] {(byte) v, (byte) (v >> 8), (byte) (v >> 16)};
    }

    private static byte[] le32(long v) {
        return new byte[] {(byte) v, (byte) (v >> 8), (byte) (v >> 16), (byte) (v >> 24)};
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }
}
