package dev.imagegen.worker.download;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imagegen.replicate.JobException;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.helpers.test.AssertSubscriber;
import io.vertx.mutiny.core.buffer.Buffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class InspectorTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    /** The first 24 bytes of a 300 x 200 PNG: signature, IHDR length and type, width, height. */
    private static final byte[] PNG_HEAD = {
            (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
            0, 0, 1, 44, 0, 0, 0, (byte) 200 };

    @Test
    void countsHashesAndSniffsTheBytesAsTheyPass() throws Exception {
        Inspector inspector = Inspector.of(1000, null);
        List<Buffer> chunks = List.of(Buffer.buffer(new byte[] { (byte) 0x89, 'P', 'N' }),
                Buffer.buffer(Arrays.copyOfRange(PNG_HEAD, 3, PNG_HEAD.length)), Buffer.buffer("rest"));

        List<Buffer> out = inspector.inspect(Multi.createFrom().iterable(chunks)).collect().asList().await().atMost(WAIT);

        assertEquals(chunks, out, "the bytes pass unchanged");
        assertEquals(PNG_HEAD.length + 4, inspector.size());
        assertTrue(inspector.contentTypeKnown());
        assertEquals("image/png", inspector.contentType());
        assertEquals(300, inspector.width());
        assertEquals(200, inspector.height());
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        chunks.forEach(c -> sha.update(c.getBytes()));
        assertEquals(HexFormat.of().formatHex(sha.digest()), inspector.sha256Hex());
    }

    @Test
    void needsTheFirstBytesBeforeItKnowsTheType() {
        Inspector inspector = Inspector.of(1000, null);
        Multi<Buffer> body = Multi.createFrom().items(Buffer.buffer(new byte[] { (byte) 0x89 }),
                Buffer.buffer(Arrays.copyOfRange(PNG_HEAD, 1, 12)));
        AssertSubscriber<Buffer> sub = inspector.inspect(body).subscribe().withSubscriber(AssertSubscriber.create(1));
        sub.awaitItems(1);
        assertFalse(inspector.contentTypeKnown(), "one byte cannot name a type");
        sub.request(1).awaitCompletion(WAIT);
        assertTrue(inspector.contentTypeKnown());
    }

    @Test
    void namesUnknownBytesOctetStreamWithoutDimensions() {
        Inspector inspector = Inspector.of(1000, 5L);
        inspector.inspect(Multi.createFrom().item(Buffer.buffer("hello"))).collect().asList().await().atMost(WAIT);
        assertEquals("application/octet-stream", inspector.contentType());
        assertNull(inspector.width());
        assertNull(inspector.height());
        assertEquals(5, inspector.size());
    }

    @Test
    void refusesADeclaredLengthOverTheLimitBeforeReadingAnything() {
        JobException e = assertThrows(JobException.class, () -> Inspector.of(100, 101L));
        assertEquals(JobException.Kind.PERMANENT, e.kind());
        assertTrue(e.getMessage().contains("larger than the 100-byte limit"), e.getMessage());
        assertEquals(100, Inspector.of(100, 100L).inspect(Multi.createFrom().item(Buffer.buffer(new byte[100])))
                .collect().asList().await().atMost(WAIT).get(0).length(), "exactly the limit is fine");
    }

    @Test
    void failsOnTheChunkThatCrossesTheLimit() {
        Inspector inspector = Inspector.of(10, null);
        AssertSubscriber<Buffer> sub = inspector.inspect(Multi.createFrom().items(Buffer.buffer(new byte[6]),
                Buffer.buffer(new byte[5]), Buffer.buffer(new byte[1]))).subscribe().withSubscriber(AssertSubscriber.create(10));

        sub.awaitFailure(WAIT);
        assertEquals(1, sub.getItems().size(), "the crossing chunk is not passed on");
        assertKind(JobException.Kind.PERMANENT, "larger than the 10-byte limit", sub.getFailure());
    }

    @Test
    void aBodyShorterThanDeclaredIsCutShortAndTransient() {
        Inspector inspector = Inspector.of(100, 20L);
        Throwable failure = inspector.inspect(Multi.createFrom().item(Buffer.buffer(new byte[12])))
                .subscribe().withSubscriber(AssertSubscriber.create(10)).awaitFailure(WAIT).getFailure();
        assertKind(JobException.Kind.TRANSIENT, "cut short: received 12 of 20 bytes", failure);
    }

    @Test
    void anEmptyBodyIsPermanent() {
        Throwable failure = Inspector.of(100, null).inspect(Multi.createFrom().empty())
                .subscribe().withSubscriber(AssertSubscriber.create(10)).awaitFailure(WAIT).getFailure();
        assertKind(JobException.Kind.PERMANENT, "empty", failure);
    }

    private static void assertKind(JobException.Kind kind, String messagePart, Throwable failure) {
        JobException e = (JobException) failure;
        assertEquals(kind, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(messagePart), "'" + e.getMessage() + "' lacks '" + messagePart + "'");
    }
}
