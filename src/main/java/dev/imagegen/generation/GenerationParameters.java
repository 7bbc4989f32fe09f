package dev.imagegen.generation;

import java.math.BigDecimal;

import io.quarkus.runtime.annotations.RegisterForReflection;

import dev.imagegen.replicate.ImageInputs;

/**
 * The generation parameters as accepted, with defaults filled in. Optional model knobs stay null
 * when the client did not send them, so the model's own default applies.
 */
@RegisterForReflection
public record GenerationParameters(
        int width,
        int height,
        Integer numInferenceSteps,
        BigDecimal guidanceScale,
        Long seed,
        int numOutputs,
        String outputFormat) implements ImageInputs {

    public static final int DEFAULT_SIZE = 1024;
    public static final int DEFAULT_OUTPUTS = 1;
}
