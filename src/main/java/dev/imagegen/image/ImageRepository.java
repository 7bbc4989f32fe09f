package dev.imagegen.image;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;

/** All SQL on {@code images}. */
@ApplicationScoped
public class ImageRepository {

    static final String COLUMNS = "id, generation_id, output_index, storage_key, content_type, size_bytes, width, height, sha256, created_at";

    static final String FIND_BY_GENERATIONS = "SELECT " + COLUMNS
            + " FROM images WHERE generation_id = ANY($1) ORDER BY generation_id, output_index";

    /** The image and its owner, for the content endpoint's owner check. */
    static final String FIND_WITH_OWNER = "SELECT i.id, i.generation_id, i.output_index, i.storage_key, i.content_type,"
            + " i.size_bytes, i.width, i.height, i.sha256, i.created_at, g.user_id"
            + " FROM images i JOIN image_generations g ON g.id = i.generation_id WHERE i.id = $1";

    /**
     * Records one stored output of a job's generation as soon as its file is committed, so that a later
     * attempt downloads only the outputs still missing. Guarded by the job's lease ($1 job id, $2 owner, job
     * still processing; the job row is share-locked so a concurrent cancel or rescue is seen); a second write
     * of the same output (a resumed attempt) replaces the first.
     */
    static final String RECORD_FOR_JOB = """
            INSERT INTO images (generation_id, output_index, storage_key, content_type, size_bytes, width, height, sha256)
            SELECT j.generation_id, $3::int, $4::text, $5::text, $6::bigint, $7::int, $8::int, $9::text
              FROM job_queue j JOIN image_generations g ON g.id = j.generation_id
             WHERE j.id = $1 AND j.status = 'processing' AND j.lease_owner = $2
               AND g.status NOT IN ('completed', 'failed', 'canceled')
               FOR SHARE OF j
            ON CONFLICT (generation_id, output_index) DO UPDATE
               SET storage_key = excluded.storage_key, content_type = excluded.content_type,
                   size_bytes = excluded.size_bytes, width = excluded.width, height = excluded.height,
                   sha256 = excluded.sha256, created_at = now()
            RETURNING id
            """;

    /** The output indexes of a generation already stored by an earlier attempt. */
    static final String STORED_OUTPUTS = """
            SELECT output_index FROM images WHERE generation_id = $1 ORDER BY output_index
            """;

    /** One output file as committed to the store, before it has an id of its own. */
    public record StoredOutput(int outputIndex, String storageKey, String contentType, long sizeBytes, Integer width,
            Integer height, String sha256) {
    }

    /** An image with the user id of its generation's owner. */
    public record OwnedImage(Image image, String ownerId) {
    }

    @Inject
    Pool pool;

    public Uni<List<Image>> findByGenerations(List<UUID> generationIds) {
        if (generationIds.isEmpty()) {
            return Uni.createFrom().item(List.of());
        }
        return pool.preparedQuery(FIND_BY_GENERATIONS).execute(Tuple.of(generationIds.toArray(UUID[]::new)))
                .map(ImageRepository::mapAll);
    }

    public Uni<OwnedImage> findWithOwner(UUID id) {
        return pool.preparedQuery(FIND_WITH_OWNER).execute(Tuple.of(id))
                .map(rows -> {
                    if (!rows.iterator().hasNext()) {
                        return null;
                    }
                    Row r = rows.iterator().next();
                    return new OwnedImage(map(r), r.getString("user_id"));
                });
    }

    /** Records one stored output under the job's lease; false when the lease was lost (nothing written). */
    public Uni<Boolean> recordForJob(UUID jobId, String leaseOwner, StoredOutput output) {
        Tuple t = Tuple.tuple().addValue(jobId).addValue(leaseOwner).addValue(output.outputIndex())
                .addValue(output.storageKey()).addValue(output.contentType()).addValue(output.sizeBytes())
                .addValue(output.width()).addValue(output.height()).addValue(output.sha256());
        return pool.preparedQuery(RECORD_FOR_JOB).execute(t).map(rows -> rows.rowCount() > 0);
    }

    /** Output indexes of the generation already stored (by this or an earlier attempt). */
    public Uni<Set<Integer>> storedOutputs(UUID generationId) {
        return pool.preparedQuery(STORED_OUTPUTS).execute(Tuple.of(generationId)).map(rows -> {
            Set<Integer> stored = new TreeSet<>();
            rows.forEach(r -> stored.add(r.getInteger("output_index")));
            return stored;
        });
    }

    static List<Image> mapAll(RowSet<Row> rows) {
        List<Image> out = new ArrayList<>(rows.size());
        for (Row r : rows) {
            out.add(map(r));
        }
        return out;
    }

    static Image map(Row r) {
        return new Image(r.getUUID("id"), r.getUUID("generation_id"), r.getInteger("output_index"),
                r.getString("storage_key"), r.getString("content_type"), r.getLong("size_bytes"),
                r.getInteger("width"), r.getInteger("height"), r.getString("sha256"), r.getOffsetDateTime("created_at"));
    }
}
