package dev.imagegen.worker.download;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;
import io.vertx.mutiny.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.function.BooleanSupplier;

/**
 * Subscribes to a body, pulls chunks one at a time until {@code headComplete} says enough was
 * seen (or the body ends), then hands over those chunks plus a single-use {@link Multi} that
 * continues the same subscription with the caller's own demand. Holds at most the few chunks of
 * the head. The downloader uses it to learn a file's content type (from its first bytes) before
 * it opens the store's {@code put}, without buffering the file.
 */
public final class HeadSplitter implements Flow.Subscriber<Buffer> {

    /** The first chunks of a body (until its type is known) and a stream of the rest. */
    public record Split(List<Buffer> head, Multi<Buffer> rest) {

        /** The whole body again: the head, then the rest. */
        public Multi<Buffer> body() {
            return head.isEmpty()
                    ? rest
                    : Multi.createBy().concatenating().streams(Multi.createFrom().iterable(head), rest);
        }
    }

    private final BooleanSupplier headComplete;
    private final List<Buffer> head = new ArrayList<>();
    private UniEmitter<? super Split> emitter;
    private volatile Flow.Subscription upstream;

    // guarded by this
    private boolean headDone;
    private Flow.Subscriber<? super Buffer> downstream;
    private boolean subscribing;
    private boolean terminated;
    private Throwable failure;
    private boolean terminalDelivered;

    private HeadSplitter(BooleanSupplier headComplete) {
        this.headComplete = headComplete;
    }

    /** Splits {@code source}: the {@code Uni} completes once the head is complete or the body ended. */
    public static Uni<Split> split(Multi<Buffer> source, BooleanSupplier headComplete) {
        HeadSplitter splitter = new HeadSplitter(headComplete);
        return Uni.createFrom().<Split>emitter(e -> {
            splitter.emitter = e;
            source.subscribe().withSubscriber(splitter);
        }).onCancellation().invoke(splitter::cancelUpstream);
    }

    private void cancelUpstream() {
        Flow.Subscription s = upstream;
        if (s != null) {
            s.cancel();
        }
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
        upstream = subscription;
        subscription.request(1);
    }

    @Override
    public void onNext(Buffer item) {
        Flow.Subscriber<? super Buffer> target;
        boolean emitHead = false;
        boolean needMore = false;
        synchronized (this) {
            if (!headDone) {
                head.add(item);
                if (headComplete.getAsBoolean()) {
                    headDone = true;
                    emitHead = true;
                } else {
                    needMore = true;
                }
                target = null;
            } else {
                target = downstream;
            }
        }
        if (emitHead) {
            emitter.complete(new Split(List.copyOf(head), rest()));
        } else if (needMore) {
            upstream.request(1);
        } else if (target != null) {
            target.onNext(item);
        }
    }

    @Override
    public void onError(Throwable throwable) {
        terminate(throwable);
    }

    @Override
    public void onComplete() {
        terminate(null);
    }

    private void terminate(Throwable error) {
        Flow.Subscriber<? super Buffer> target = null;
        boolean emitHead = false;
        synchronized (this) {
            if (terminated) {
                return;
            }
            terminated = true;
            failure = error;
            if (!headDone) {
                headDone = true;
                emitHead = true;
            } else if (downstream != null && !subscribing && !terminalDelivered) {
                terminalDelivered = true;
                target = downstream;
            }
        }
        if (emitHead) {
            if (error != null) {
                emitter.fail(error);
            } else {
                emitter.complete(new Split(List.copyOf(head), rest()));
            }
        } else if (target != null) {
            deliverTerminal(target, error);
        }
    }

    private static void deliverTerminal(Flow.Subscriber<? super Buffer> target, Throwable error) {
        if (error != null) {
            target.onError(error);
        } else {
            target.onComplete();
        }
    }

    private Multi<Buffer> rest() {
        Flow.Publisher<Buffer> publisher = this::subscribeRest;
        return Multi.createFrom().publisher(publisher);
    }

    private void subscribeRest(Flow.Subscriber<? super Buffer> subscriber) {
        synchronized (this) {
            if (downstream != null) {
                subscriber.onSubscribe(NoopSubscription.INSTANCE);
                subscriber.onError(new IllegalStateException("the body can be consumed only once"));
                return;
            }
            downstream = subscriber;
            subscribing = true;
        }
        subscriber.onSubscribe(new Flow.Subscription() {
            @Override
            public void request(long n) {
                boolean done;
                synchronized (HeadSplitter.this) {
                    done = terminated;
                }
                if (!done) {
                    upstream.request(n);
                }
            }

            @Override
            public void cancel() {
                upstream.cancel();
            }
        });
        boolean deliver;
        Throwable error;
        synchronized (this) {
            subscribing = false;
            deliver = terminated && !terminalDelivered;
            if (deliver) {
                terminalDelivered = true;
            }
            error = failure;
        }
        if (deliver) {
            deliverTerminal(subscriber, error);
        }
    }

    private enum NoopSubscription implements Flow.Subscription {
        INSTANCE;

        @Override
        public void request(long n) {
        }

        @Override
        public void cancel() {
        }
    }
}
