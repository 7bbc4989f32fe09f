package dev.imagegen.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

class PartBodyTest {

    /** Records what a subscription delivers, requesting nothing by itself. */
    static final class Recorder implements Subscriber<ByteBuffer> {
        final List<byte[]> items = new ArrayList<>();
        Subscription subscription;
        Throwable error;
        boolean completed;

        @Override
        public void onSubscribe(Subscription s) {
            subscription = s;
        }

        @Override
        public void onNext(ByteBuffer b) {
            byte[] copy = new byte[b.remaining()];
            b.get(copy);
            items.add(copy);
        }

        @Override
        public void onError(Throwable t) {
            error = t;
        }

        @Override
        public void onComplete() {
            completed = true;
        }
    }

    @Test
    void givesThePartOnceOnDemandToEachSubscriptionWithoutCopying() {
        byte[] array = { 1, 2, 3, 4, 5 };
        PartBody body = new PartBody(array, 3);
        assertEquals(Optional.of(3L), body.contentLength());

        Recorder first = subscribe(body);
        assertTrue(first.items.isEmpty(), "nothing before a request");
        first.subscription.request(1);
        first.subscription.request(1);
        assertEquals(1, first.items.size());
        assertArrayEquals(new byte[] { 1, 2, 3 }, first.items.get(0));
        assertTrue(first.completed);

        Recorder retry = subscribe(body); // the SDK resubscribes when it retries a part
        retry.subscription.request(Long.MAX_VALUE);
        assertArrayEquals(new byte[] { 1, 2, 3 }, retry.items.get(0));
    }

    @Test
    void aReleasedPartCannotBeSentAgain() {
        PartBody body = new PartBody(new byte[10], 10);
        body.release();
        Recorder late = subscribe(body);
        assertInstanceOf(IllegalStateException.class, late.error);
    }

    @Test
    void aNonPositiveRequestFailsAndACancelledSubscriptionSendsNothing() {
        PartBody body = new PartBody(new byte[4], 4);
        Recorder bad = subscribe(body);
        bad.subscription.request(0);
        assertInstanceOf(IllegalArgumentException.class, bad.error);

        Recorder cancelled = subscribe(body);
        cancelled.subscription.cancel();
        cancelled.subscription.request(1);
        assertTrue(cancelled.items.isEmpty() && !cancelled.completed);
    }

    private static Recorder subscribe(PartBody body) {
        Recorder r = new Recorder();
        body.subscribe(r);
        return r;
    }
}
