package dev.imagegen.queue;

import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.imagegen.api.Cursor;

/**
 * The read-only SQL on {@code job_queue}: one job, the operators' listing, the depth counts behind the
 * gauges, and the {@code queue_health} view. Nothing here changes a row.
 */
@ApplicationScoped
public class JobReadRepository {

    static final String FIND_BY_ID = "SELECT " + JobRepository.COLUMNS + " FROM job_queue WHERE id = $1";

    /** Newest first, keyset paging; status and job type filters optional. */
    static final String LIST = "SELECT " + JobRepository.COLUMNS + """
             FROM job_queue
            WHERE ($1::text IS NULL OR status = $1)
              AND ($2::text IS NULL OR job_type = $2)
              AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
            ORDER BY created_at DESC, id DESC
            LIMIT $5
            """;

    /** Counts for metrics and health, from the partial indexes: one cheap query, cached by its callers. */
    static final String COUNTS = """
            SELECT count(*) FILTER (WHERE status = 'pending')                       AS pending,
                   count(*) FILTER (WHERE status = 'pending' AND run_at <= now())  AS due,
                   count(*) FILTER (WHERE status = 'processing')                    AS processing,
                   count(*) FILTER (WHERE status = 'processing' AND lease_expires_at < now()) AS stuck,
                   extract(epoch FROM now() - min(run_at) FILTER (WHERE status = 'pending' AND run_at <= now())) AS oldest_due_seconds
              FROM job_queue
             WHERE status IN ('pending', 'processing')
            """;

    static final String HEALTH = """
            SELECT pending_jobs, processing_jobs, completed_last_hour, failed_last_hour, avg_processing_time_seconds,
                   stuck_jobs, error_rate_last_hour
              FROM queue_health
            """;

    /** Queue depth by state, for metrics and readiness. */
    public record Counts(long pending, long due, long processing, long stuck, double oldestDueSeconds) {
    }

    @Inject
    Pool pool;

    public Uni<Job> findById(UUID id) {
        return pool.preparedQuery(FIND_BY_ID).execute(Tuple.of(id))
                .map(rows -> rows.iterator().hasNext() ? JobRepository.map(rows.iterator().next()) : null);
    }

    public Uni<List<Job>> list(JobStatus status, String jobType, Cursor cursor, int limit) {
        return pool.preparedQuery(LIST)
                .execute(Tuple.from(Arrays.asList(status == null ? null : status.db(), jobType,
                        cursor == null ? null : cursor.createdAt(), cursor == null ? null : cursor.id(), limit)))
                .map(JobRepository::mapAll);
    }

    public Uni<Counts> counts() {
        return pool.preparedQuery(COUNTS).execute().map(rows -> {
            Row r = rows.iterator().next();
            Double oldest = r.getDouble("oldest_due_seconds");
            return new Counts(r.getLong("pending"), r.getLong("due"), r.getLong("processing"), r.getLong("stuck"),
                    oldest == null ? 0 : oldest);
        });
    }

    /** The queue_health view's row (without alerts). */
    public Uni<QueueHealth> health() {
        return pool.query(HEALTH).execute().map(rows -> {
            Row r = rows.iterator().next();
            Object avg = r.getValue("avg_processing_time_seconds");
            Object rate = r.getValue("error_rate_last_hour");
            return new QueueHealth(r.getLong("pending_jobs"), r.getLong("processing_jobs"), r.getLong("completed_last_hour"),
                    r.getLong("failed_last_hour"), avg == null ? null : ((Number) avg).doubleValue(), r.getLong("stuck_jobs"),
                    rate == null ? 0 : ((Number) rate).doubleValue(), List.of());
        });
    }
}
