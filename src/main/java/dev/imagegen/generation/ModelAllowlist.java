package dev.imagegen.generation;

import java.util.List;
import java.util.Set;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import dev.imagegen.api.ApiException;
import dev.imagegen.config.ImagegenConfig;

/**
 * The models users may run ({@code imagegen.models.allowed}): {@code owner/name} entries, or {@code *} for
 * any. {@code owner/name:version} is allowed when its {@code owner/name} is. Names are compared exactly:
 * the per-model limits in {@code ModelCatalog} are keyed by the exact names, and a differently-cased name
 * must not slip past them.
 */
@ApplicationScoped
public class ModelAllowlist {

    private final boolean any;
    private final Set<String> allowed;
    private final String listed;

    @Inject
    public ModelAllowlist(ImagegenConfig config) {
        this(config.models().allowed());
    }

    ModelAllowlist(List<String> entries) {
        List<String> names = entries.stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
        this.any = names.contains("*");
        this.allowed = Set.copyOf(names);
        this.listed = String.join(", ", names);
    }

    /** Throws a 400 naming the allowed models when {@code modelId} is not one of them. */
    public void check(String modelId) {
        if (!allows(modelId)) {
            throw ApiException.invalid("model_id", "must be one of the allowed models: " + listed + " (got "
                    + modelId + ")");
        }
    }

    boolean allows(String modelId) {
        int colon = modelId.indexOf(':');
        return any || allowed.contains(colon < 0 ? modelId : modelId.substring(0, colon));
    }
}
