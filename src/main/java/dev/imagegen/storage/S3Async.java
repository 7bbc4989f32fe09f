package dev.imagegen.storage;

import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/** The S3 store's bridge from the SDK's futures to Mutiny, back on the caller's Vert.x context. */
final class S3Async {

    private S3Async() {
    }

    /**
     * Calls the SDK, adapting its future to a {@code Uni} whose result is delivered on {@code context}
     * when there is one. Cancelling the {@code Uni} does not cancel the SDK call (S3 may already have
     * acted on it); the caller's own clean-up deals with its outcome.
     */
    static <T> Uni<T> fromFuture(Supplier<CompletableFuture<T>> call, Executor context) {
        Uni<T> uni = Uni.createFrom().completionStage(() -> call.get().thenApply(x -> x));
        return context == null ? uni : uni.emitOn(context);
    }

    /** {@link #fromFuture} on the context of the thread that subscribes, made at subscription time. */
    static <T> Uni<T> call(Supplier<CompletableFuture<T>> call) {
        return Uni.createFrom().deferred(() -> fromFuture(call, contextExecutor()));
    }

    /** Runs on the Vert.x context of the calling thread, if it has one; {@code null} otherwise. */
    static Executor contextExecutor() {
        Context context = io.vertx.core.Vertx.currentContext();
        return context == null ? null : task -> context.runOnContext(ignored -> task.run());
    }
}
