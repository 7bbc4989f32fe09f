package dev.imagegen.worker.download;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imagegen.replicate.JobException;
import io.smallrye.mutiny.helpers.test.AssertSubscriber;
import io.vertx.mutiny.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DataUriSourceTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void recognisesDataUrisInAnyCase() {
        assertTrue(DataUriSource.isDataUri("data:image/png;base64,AA=="));
        assertTrue(DataUriSource.isDataUri("DATA:,x"));
        assertFalse(DataUriSource.isDataUri("https://replicate.delivery/data:x"));
    }

    @Test
    void decodesALargeBase64PayloadChunkByChunk() {
        byte[] bytes = random(300_000);
        String uri = "data:image/png;base64," + Base64.getEncoder().encodeToString(bytes);

        List<Buffer> chunks = DataUriSource.open(uri).collect().asList().await().atMost(WAIT);

        assertTrue(chunks.size() >= 5, "decoded in chunks of at most 64 Ki characters, got " + chunks.size());
        chunks.forEach(c -> assertTrue(c.length() <= DataUriSource.DATA_URI_CHUNK_CHARS * 3 / 4 + 3));
        assertArrayEquals(bytes, concat(chunks));
    }

    @Test
    void decodesOnlyWhatIsRequested() {
        String uri = "data:;base64," + Base64.getEncoder().encodeToString(random(400_000));
        AssertSubscriber<Buffer> subscriber = DataUriSource.open(uri).subscribe().withSubscriber(AssertSubscriber.create(1));

        subscriber.awaitItems(1);
        assertEquals(1, subscriber.getItems().size(), "one chunk for one request");
        assertFalse(subscriber.hasCompleted());
        subscriber.request(Long.MAX_VALUE).awaitCompletion(WAIT);
    }

    @Test
    void acceptsUrlSafeAlphabetWhiteSpaceMissingAndEscapedPadding() {
        byte[] bytes = { (byte) 0xfb, (byte) 0xff, (byte) 0xbf, 0x01 }; // "+/+/AQ==" in standard base64
        assertArrayEquals(bytes, decode("data:application/octet-stream;BASE64,-_-_AQ"));
        assertArrayEquals(bytes, decode("data:;base64,+/+/\r\n A Q %3d%3D"));
        assertArrayEquals(bytes, decode("data:;base64,+/+/AQ=="));
    }

    @Test
    void percentDecodesAPayloadThatIsNotBase64() {
        assertArrayEquals(new byte[] { 'a', ' ', (byte) 0x89, 'P', (byte) 0xe9 }, decode("data:text/plain,a%20%89P\u00e9"));
        assertArrayEquals(new byte[0], decode("data:,"));
    }

    @Test
    void refusesMalformedUrisAtOnceAndBadPayloadsOnTheStream() {
        assertPermanent("malformed", () -> DataUriSource.open("data:image/png;base64"));
        assertPermanent("malformed", () -> DataUriSource.open("data:" + "x".repeat(300) + ",AA"));
        assertPermanent("not valid base64", () -> decode("data:;base64,iVBOR*w0K"));
        assertPermanent("not valid base64", () -> decode("data:;base64,AA%41"));
        assertPermanent("bad percent escape", () -> decode("data:,a%2"));
        assertPermanent("bad percent escape", () -> decode("data:,a%zz"));
        assertPermanent("not a byte", () -> decode("data:,\u20ac"));
    }

    private static byte[] decode(String uri) {
        return concat(DataUriSource.open(uri).collect().asList().await().atMost(WAIT));
    }

    private static void assertPermanent(String messagePart, org.junit.jupiter.api.function.Executable call) {
        JobException e = assertThrows(JobException.class, call);
        assertEquals(JobException.Kind.PERMANENT, e.kind());
        assertTrue(e.getMessage().contains(messagePart), "'" + e.getMessage() + "' lacks '" + messagePart + "'");
    }

    private static byte[] concat(List<Buffer> chunks) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        chunks.forEach(c -> out.writeBytes(c.getBytes()));
        return out.toByteArray();
    }

    private static byte[] random(int n) {
        byte[] bytes = new byte[n];
        new Random(n).nextBytes(bytes);
        return bytes;
    }
}
