package dev.imagegen.worker.download;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imagegen.worker.download.HeadSplitter.Split;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.helpers.test.AssertSubscriber;
import io.vertx.mutiny.core.buffer.Buffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class HeadSplitterTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void holdsChunksOnlyUntilTheHeadIsCompleteThenPassesTheRestOnWithItsOwnDemand() {
        AtomicLong requested = new AtomicLong();
        AtomicInteger seen = new AtomicInteger();
        Multi<Buffer> source = Multi.createFrom().range(0, 10).map(i -> Buffer.buffer("c" + i))
                .onRequest().invoke(requested::addAndGet)
                .onItem().invoke(seen::incrementAndGet);

        Split split = HeadSplitter.split(source, () -> seen.get() >= 3).await().atMost(WAIT);

        assertEquals(List.of("c0", "c1", "c2"), strings(split.head()));
        assertEquals(3, requested.get(), "pulled one chunk at a time, no further than the head");
        AssertSubscriber<Buffer> rest = split.rest().subscribe().withSubscriber(AssertSubscriber.create(2));
        rest.awaitItems(2);
        assertEquals(5, requested.get(), "the rest asks for what its subscriber asks for");
        rest.request(100).awaitCompletion(WAIT);
        assertEquals(IntStream.range(3, 10).mapToObj(i -> "c" + i).toList(), strings(rest.getItems()));
    }

    @Test
    void bodyGivesTheHeadThenTheRest() {
        Multi<Buffer> source = Multi.createFrom().items("a", "b", "c", "d").map(Buffer::buffer);
        AtomicInteger n = new AtomicInteger();
        Split split = HeadSplitter.split(source.onItem().invoke(n::incrementAndGet), () -> n.get() >= 2)
                .await().atMost(WAIT);
        assertEquals(List.of("a", "b", "c", "d"), strings(split.body().collect().asList().await().atMost(WAIT)));
    }

    @Test
    void aBodyThatEndsBeforeTheHeadIsCompleteGivesItAllAndAnEmptyRest() {
        Split split = HeadSplitter.split(Multi.createFrom().items(Buffer.buffer("x")), () -> false).await().atMost(WAIT);
        assertEquals(List.of("x"), strings(split.head()));
        assertEquals(List.of(), split.rest().collect().asList().await().atMost(WAIT));

        Split empty = HeadSplitter.split(Multi.createFrom().empty(), () -> false).await().atMost(WAIT);
        assertEquals(List.of(), empty.head());
        assertEquals(List.of(), empty.body().collect().asList().await().atMost(WAIT));
    }

    @Test
    void aFailureBeforeTheHeadFailsTheSplitAndAfterItFailsTheRest() {
        IllegalStateException boom = new IllegalStateException("boom");
        Multi<Buffer> early = Multi.createBy().concatenating().streams(Multi.createFrom().items(Buffer.buffer("a")),
                Multi.createFrom().failure(boom));
        assertSame(boom, assertThrows(IllegalStateException.class,
                () -> HeadSplitter.split(early, () -> false).await().atMost(WAIT)));

        Split split = HeadSplitter.split(early, () -> true).await().atMost(WAIT);
        assertEquals(List.of("a"), strings(split.head()));
        AssertSubscriber<Buffer> rest = split.rest().subscribe().withSubscriber(AssertSubscriber.create(10));
        assertSame(boom, rest.awaitFailure(WAIT).getFailure());
    }

    @Test
    void theRestCanBeConsumedOnlyOnce() {
        Split split = HeadSplitter.split(Multi.createFrom().items("a", "b").map(Buffer::buffer), () -> true)
                .await().atMost(WAIT);
        split.rest().collect().asList().await().atMost(WAIT);
        AssertSubscriber<Buffer> again = split.rest().subscribe().withSubscriber(AssertSubscriber.create(10));
        assertInstanceOf(IllegalStateException.class, again.awaitFailure(WAIT).getFailure());
    }

    @Test
    void cancellingTheRestOrTheSplitCancelsTheSource() {
        AtomicBoolean cancelled = new AtomicBoolean();
        // Ticks fail on a tick nobody requested yet (a slow machine): drop those, the test is about cancelling.
        Multi<Buffer> endless = Multi.createFrom().ticks().every(Duration.ofMillis(5)).onOverflow().drop()
                .map(i -> Buffer.buffer("t"))
                .onCancellation().invoke(() -> cancelled.set(true));
        Split split = HeadSplitter.split(endless, () -> true).await().atMost(WAIT);
        AssertSubscriber<Buffer> rest = split.rest().subscribe().withSubscriber(AssertSubscriber.create(1));
        rest.awaitItems(1).cancel();
        assertTrue(cancelled.get(), "cancelling the rest cancels the upstream subscription");

        AtomicBoolean cancelledEarly = new AtomicBoolean();
        Multi<Buffer> silent = Multi.createFrom().<Buffer>nothing().onCancellation().invoke(() -> cancelledEarly.set(true));
        HeadSplitter.split(silent, () -> true).subscribe().with(s -> { }, e -> { }).cancel();
        assertTrue(cancelledEarly.get(), "cancelling while the head is awaited cancels the source");
    }

    private static List<String> strings(List<Buffer> buffers) {
        return buffers.stream().map(Buffer::toString).toList();
    }
}
