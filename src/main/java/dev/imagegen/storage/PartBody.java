package dev.imagegen.storage;

import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.core.async.AsyncRequestBody;

/**
 * One part's bytes, given to the SDK without copying and released as soon as the part's upload has
 * settled. The SDK may keep a finished request, and with it its body, referenced for a while (by a
 * pooled connection); releasing the array keeps what each upload holds to the two parts it is working
 * on. Each subscription (the SDK resubscribes on a retry) gets the whole part once, then completes.
 */
final class PartBody implements AsyncRequestBody {
    private final long length;
    private volatile ByteBuffer bytes;

    PartBody(byte[] bytes, int length) {
        this.bytes = ByteBuffer.wrap(bytes, 0, length);
        this.length = length;
    }

    void release() {
        bytes = null;
    }

    @Override
    public Optional<Long> contentLength() {
        return Optional.of(length);
    }

    @Override
    public void subscribe(Subscriber<? super ByteBuffer> subscriber) {
        ByteBuffer source = bytes;
        AtomicReference<ByteBuffer> pending = new AtomicReference<>(source == null ? null : source.duplicate());
        subscriber.onSubscribe(new Subscription() {
            @Override
            public void request(long n) {
                if (n <= 0) {
                    if (pending.getAndSet(null) != null) {
                        subscriber.onError(new IllegalArgumentException("non-positive request: " + n));
                    }
                    return;
                }
                ByteBuffer next = pending.getAndSet(null);
                if (next != null) {
                    subscriber.onNext(next);
                    subscriber.onComplete();
                }
            }

            @Override
            public void cancel() {
                pending.set(null);
            }
        });
        if (source == null) {
            subscriber.onError(new IllegalStateException("the part was already released"));
        }
    }
}
