package dev.imagegen.generation;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.smallrye.mutiny.Uni;

/**
 * One read round of the event streams: the generations of up to {@link GenerationEvents#MAX_BATCH} ids with
 * one generations query and one images query, each rendered once to the JSON every follower of it is sent.
 */
@ApplicationScoped
class SnapshotReader {

    private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

    @Inject
    GenerationRepository generations;

    @Inject
    GenerationViews views;

    @Inject
    ObjectMapper mapper;

    /** The snapshots of the ids that still exist (a deleted one is absent); fails after {@link #READ_TIMEOUT}. */
    Uni<Map<UUID, Snapshot>> read(List<UUID> ids) {
        return generations.findByIds(ids)
                .flatMap(rows -> views.views(rows).map(rendered -> {
                    Map<UUID, Snapshot> out = new HashMap<>(rows.size() * 2);
                    for (int i = 0; i < rows.size(); i++) {
                        out.put(rows.get(i).id(), new Snapshot(rows.get(i), json(rendered.get(i))));
                    }
                    return out;
                }))
                .ifNoItem().after(READ_TIMEOUT).fail();
    }

    private String json(GenerationView view) {
        try {
            return mapper.writeValueAsString(view);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Could not serialise generation " + view.id(), e);
        }
    }
}
