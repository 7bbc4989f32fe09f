package dev.imagegen.generation;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.image.Image;
import dev.imagegen.image.ImageLinks;
import dev.imagegen.image.ImageRepository;
import dev.imagegen.storage.ImageStore;

/**
 * Generations as the API shows them: with their images (each with a link to its bytes) and the signed
 * link to their event stream. The polling endpoints and the event streams render through here, so a
 * generation reads the same whichever way a client follows it.
 */
@ApplicationScoped
public class GenerationViews {

    @Inject
    ImageRepository images;

    @Inject
    ImageLinks links;

    @Inject
    EventLinks eventLinks;

    @Inject
    ImageStore store;

    @Inject
    ImagegenConfig config;

    /** Views with their images, in one query for the whole list, in the order of {@code list}. */
    public Uni<List<GenerationView>> views(List<Generation> list) {
        List<UUID> ids = list.stream().map(Generation::id).toList();
        return images.findByGenerations(ids).map(all -> {
            Map<UUID, List<GenerationView.ImageView>> byGeneration = new LinkedHashMap<>();
            for (Image i : all) {
                byGeneration.computeIfAbsent(i.generationId(), k -> new ArrayList<>())
                        .add(new GenerationView.ImageView(i.id(), url(i), i.contentType(), i.sizeBytes(),
                                i.width(), i.height(), i.sha256()));
            }
            List<GenerationView> out = new ArrayList<>(list.size());
            for (Generation g : list) {
                out.add(GenerationView.of(g, byGeneration.getOrDefault(g.id(), List.of()), eventLinks));
            }
            return out;
        });
    }

    /** One generation's view. */
    public Uni<GenerationView> view(Generation g) {
        return views(List.of(g)).map(list -> list.get(0));
    }

    /** The answer to an enqueue, with the signed events link of the new (or replayed) generation. */
    public EnqueueResponse enqueued(Enqueued e) {
        return EnqueueResponse.of(e, eventLinks);
    }

    /** The store's own presigned URL where it gives one (S3), else a signed link to the content endpoint. */
    private String url(Image i) {
        return store.publicUrl(i.storageKey(), config.api().imageLinkTtl()).orElseGet(() -> links.url(i.id()));
    }
}
