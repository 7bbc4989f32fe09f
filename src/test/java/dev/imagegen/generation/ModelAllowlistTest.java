package dev.imagegen.generation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.ProblemType;
import dev.imagegen.config.ImagegenConfig;

class ModelAllowlistTest {

    static final String SDXL_VERSION = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc";

    /** The mapping's own defaults, with no configuration source at all. */
    static ImagegenConfig defaults() {
        SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(ImagegenConfig.class)
                // Quarkus' own formats ("5s", "8M"), as the application reads them.
                .withConverter(Duration.class, 200, new DurationConverter())
                .withConverter(MemorySize.class, 200, new MemorySizeConverter())
                .build();
        return config.getConfigMapping(ImagegenConfig.class);
    }

    @Test
    void defaultsAreTheContractsValues() {
        ImagegenConfig config = defaults();
        assertEquals(List.of("black-forest-labs/flux-schnell", "black-forest-labs/flux-dev", "stability-ai/sdxl"),
                config.models().allowed());
        assertEquals(50, config.limits().maxActivePerUser());
        assertEquals(120, config.limits().enqueuePerMinute());
        assertEquals(10, config.limits().maxStreamsPerUser());
        assertEquals(2000, config.limits().maxStreamsPerReplica());
    }

    @Test
    void theDefaultListAllowsTheCatalogModelsWithOrWithoutAVersion() {
        ModelAllowlist allowlist = new ModelAllowlist(defaults());
        assertTrue(allowlist.allows("black-forest-labs/flux-schnell"));
        assertTrue(allowlist.allows("black-forest-labs/flux-dev"));
        assertTrue(allowlist.allows("stability-ai/sdxl"));
        assertTrue(allowlist.allows("stability-ai/sdxl:" + SDXL_VERSION));
        assertFalse(allowlist.allows("acme/expensive-model"));
        assertFalse(allowlist.allows("acme/expensive-model:" + SDXL_VERSION));
        assertFalse(allowlist.allows("Black-Forest-Labs/flux-schnell"), "exact names only");
    }

    @Test
    void aRefusalIsA400NamingTheAllowedModels() {
        ApiException e = assertThrows(ApiException.class,
                () -> new ModelAllowlist(List.of(" a/one ", "b/two")).check("c/three"));
        assertEquals(ProblemType.VALIDATION, e.type());
        assertEquals("model_id", e.errors().get(0).field());
        assertEquals("must be one of the allowed models: a/one, b/two (got c/three)", e.errors().get(0).message());
    }

    @Test
    void starAllowsAnyModel() {
        assertTrue(new ModelAllowlist(List.of("*")).allows("anyone/anything"));
    }
}
