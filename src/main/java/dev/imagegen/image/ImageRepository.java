package dev.imagegen.image;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlClient;
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

    /** Records one stored output; a second write of the same output (a resumed attempt) replaces the first. */
    static final String UPSERT = """
            INSERT INTO images (generation_id, output_index, storage_key, content_type, size_bytes, width, height, sha256)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (generation_id, output_index) DO UPDATE
               SET storage_key = excluded.storage_key, content_type = excluded.content_type,
                   size_bytes = excluded.size_bytes, width = excluded.width, height = excluded.height,
                   sha256 = excluded.sha256, created_at = now()
            """;

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

    /** Records images in one batch on the given connection (part of the completing transaction). */
    public Uni<Void> upsertAll(SqlClient client, List<Image> images) {
        if (images.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        List<Tuple> batch = new ArrayList<>(images.size());
        for (Image i : images) {
            batch.add(Tuple.from(java.util.Arrays.asList(i.generationId(), i.outputIndex(), i.storageKey(), i.contentType(),
                    i.sizeBytes(), i.width(), i.height(), i.sha256())));
        }
        return client.preparedQuery(UPSERT).executeBatch(batch).replaceWithVoid();
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
