package dev.imagegen.generation.rest;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

/** OpenAPI description of the enqueue body (the body itself is parsed strictly by GenerationRequest). */
@Schema(name = "GenerationRequest", additionalProperties = Schema.False.class)
public class GenerationRequestDoc {
    @Schema(required = true, minLength = 1, maxLength = 4000, description = "What to draw; trimmed")
    public String prompt;
    @Schema(defaultValue = "black-forest-labs/flux-schnell", pattern = "^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+(:[0-9a-f]{64})?$")
    public String model_id;
    @Schema(minimum = "64", maximum = "2048", multipleOf = 8, defaultValue = "1024")
    public Integer width;
    @Schema(minimum = "64", maximum = "2048", multipleOf = 8, defaultValue = "1024")
    public Integer height;
    @Schema(minimum = "1", maximum = "100", description = "Model limits apply: 1–4 for FLUX schnell")
    public Integer num_inference_steps;
    @Schema(minimum = "0", maximum = "50", description = "Ignored by models without guidance (FLUX schnell)")
    public Double guidance_scale;
    @Schema(minimum = "0")
    public Long seed;
    @Schema(minimum = "1", maximum = "4", defaultValue = "1")
    public Integer num_outputs;
    @Schema(enumeration = { "webp", "png", "jpg" })
    public String output_format;
    @Schema(minimum = "-100", maximum = "100", description = "Operators only; a user who sends it gets 403")
    public Integer priority;
}
