package dev.imagegen.admin;

import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;

import dev.imagegen.api.Cursor;
import dev.imagegen.api.Page;
import dev.imagegen.queue.Job;
import dev.imagegen.queue.JobStatus;
import dev.imagegen.queue.QueueAdmin;
import dev.imagegen.queue.QueueHealth;
import dev.imagegen.queue.maintenance.JobRescuer;
import dev.imagegen.worker.JobProducer;

/**
 * What operators may do to the queue and the worker. It sits above both (it drives the worker's
 * {@link JobProducer}), so that the queue stays free of the worker and the resource of either.
 */
@ApplicationScoped
public class AdminService {

    @Inject
    JobProducer producer;

    @Inject
    JobRescuer rescuer;

    @Inject
    QueueAdmin queue;

    /** Claims due jobs now (up to the free slots) and answers when they are processed. */
    public Uni<JobProducer.ProcessResult> processJobs() {
        return producer.processNow();
    }

    /** Returns jobs whose lease expired to the queue now; answers how many. */
    public Uni<Integer> rescue() {
        return rescuer.rescueNow();
    }

    public Uni<QueueHealth> health() {
        return queue.health();
    }

    public Uni<Page<Job>> jobs(JobStatus status, String jobType, Cursor cursor, int limit) {
        return queue.list(status, jobType, cursor, limit);
    }

    /** A failed or canceled job back to pending with its attempts reset. */
    public Uni<Job> retry(UUID id) {
        return queue.retry(id);
    }
}
