package dev.imagegen.testsupport;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/** Plain SQL for tests: seed and read back rows in exact states. */
public final class Db {

    private Db() {
    }

    public static List<Row> query(Pool pool, String sql, Object... args) {
        var rows = pool.preparedQuery(sql).execute(Tuple.from(Arrays.asList(args))).await().atMost(Duration.ofSeconds(30));
        List<Row> out = new ArrayList<>();
        rows.forEach(out::add);
        return out;
    }

    public static long count(Pool pool, String sql, Object... args) {
        return query(pool, sql, args).get(0).getLong(0);
    }

    public static void exec(Pool pool, String sql, Object... args) {
        pool.preparedQuery(sql).execute(Tuple.from(Arrays.asList(args))).await().atMost(Duration.ofSeconds(30));
    }

    /** Empties every table (NOTIFY fires on commit, so tests clean instead of rolling back). */
    public static void clean(Pool pool) {
        pool.query("TRUNCATE images, idempotency_keys, job_queue, image_generations, replicate_webhook_deliveries CASCADE")
                .execute().await().atMost(Duration.ofSeconds(30));
    }
}
