package dev.imagegen.worker;

import io.smallrye.mutiny.subscription.Cancellable;

import dev.imagegen.queue.Job;

/** One run of a claimed job in {@link JobProducer}: its claim (and so its lease), how to stop it, and when it started. */
final class RunningJob {

    final Job job;
    final long startedNanos = System.nanoTime();
    volatile Cancellable subscription;

    RunningJob(Job job) {
        this.job = job;
    }

    Job job() {
        return job;
    }

    void cancel() {
        Cancellable s = subscription;
        if (s != null) {
            s.cancel();
        }
    }
}
