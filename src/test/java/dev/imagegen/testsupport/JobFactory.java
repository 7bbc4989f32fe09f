package dev.imagegen.testsupport;

import java.util.UUID;

import io.vertx.mutiny.sqlclient.Pool;

/** Seeds queue rows in exact states. */
public final class JobFactory {

    private JobFactory() {
    }

    /** A pending job of a type no handler knows (no generation), due {@code dueInSeconds} from now. */
    public static UUID pending(Pool pool, int priority, double dueInSeconds) {
        return Db.query(pool, """
                INSERT INTO job_queue (job_type, payload, priority, run_at)
                VALUES ('noop', '{}', $1, now() + make_interval(secs => $2))
                RETURNING id""", priority, dueInSeconds).get(0).getUUID(0);
    }

    /** A queued generation and its pending job; answers {generation id, job id}. */
    public static UUID[] generation(Pool pool, String user) {
        UUID g = Db.query(pool, """
                INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
                VALUES ($1, 'seeded', 'black-forest-labs/flux-schnell', '{"width":1024,"height":1024,"num_outputs":1}', 'queued')
                RETURNING id""", user).get(0).getUUID(0);
        UUID j = Db.query(pool, """
                INSERT INTO job_queue (job_type, payload, generation_id)
                VALUES ('generate_image', jsonb_build_object('generation_id', $1::uuid), $1)
                RETURNING id""", g).get(0).getUUID(0);
        return new UUID[] { g, j };
    }
}
