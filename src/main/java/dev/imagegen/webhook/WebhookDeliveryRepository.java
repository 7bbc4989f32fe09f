package dev.imagegen.webhook;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.imagegen.queue.JobNotifier;

/** All SQL on {@code replicate_webhook_deliveries}. */
@ApplicationScoped
public class WebhookDeliveryRepository {

    /**
     * Records a delivery once and wakes whichever replica runs the prediction's job, in one statement; a
     * delivery id seen before inserts nothing and wakes nobody.
     */
    static final String RECORD = """
            WITH d AS (
                INSERT INTO replicate_webhook_deliveries (webhook_id, prediction_id, status, payload)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (webhook_id) DO NOTHING
                RETURNING prediction_id
            )
            SELECT (SELECT count(*) FROM d) AS recorded,
                   (SELECT count(pg_notify('""" + JobNotifier.PREDICTION_CHANNEL + """
            ', prediction_id)) FROM d WHERE $5) AS notified
            """;

    static final String PRUNE = """
            DELETE FROM replicate_webhook_deliveries
             WHERE ctid = ANY (ARRAY(SELECT ctid FROM replicate_webhook_deliveries
                                      WHERE received_at < now() - make_interval(secs => $1) LIMIT $2))
            """;

    @Inject
    Pool pool;

    /** Answers whether this delivery is new. {@code wake} sends the cross-replica wake-up with it. */
    public Uni<Boolean> record(String webhookId, String predictionId, String status, JsonObject payload, boolean wake) {
        return pool.preparedQuery(RECORD).execute(Tuple.of(webhookId, predictionId, status, payload, wake))
                .map(rows -> rows.iterator().next().getLong("recorded") > 0);
    }

    public Uni<Integer> prune(java.time.Duration age, int batch) {
        return pool.preparedQuery(PRUNE).execute(Tuple.of((double) age.toSeconds(), batch)).map(rows -> rows.rowCount());
    }
}
