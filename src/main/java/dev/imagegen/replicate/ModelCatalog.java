package dev.imagegen.replicate;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.imagegen.api.Problem.FieldError;

/**
 * What each known model takes (see replicate-api.md §5), and how a request maps onto it.
 * FLUX takes {@code aspect_ratio} (derived from width/height), at most 4 steps for schnell and no
 * guidance; SDXL takes width/height and needs a version id. A parameter a model does not take is
 * silently dropped; a value outside the model's documented range is a 400 naming the limit.
 * Unknown models get the fields as given.
 */
public final class ModelCatalog {

    /** The SDXL version used when the client names {@code stability-ai/sdxl} without a version. */
    public static final String SDXL_DEFAULT_VERSION = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc";

    /** FLUX aspect ratios and their 1-megapixel sizes. */
    static final Map<String, int[]> FLUX_RATIOS = new LinkedHashMap<>();

    static {
        FLUX_RATIOS.put("1:1", new int[] { 1024, 1024 });
        FLUX_RATIOS.put("16:9", new int[] { 1344, 768 });
        FLUX_RATIOS.put("21:9", new int[] { 1536, 640 });
        FLUX_RATIOS.put("3:2", new int[] { 1216, 832 });
        FLUX_RATIOS.put("2:3", new int[] { 832, 1216 });
        FLUX_RATIOS.put("4:5", new int[] { 896, 1088 });
        FLUX_RATIOS.put("5:4", new int[] { 1088, 896 });
        FLUX_RATIOS.put("3:4", new int[] { 896, 1152 });
        FLUX_RATIOS.put("4:3", new int[] { 1152, 896 });
        FLUX_RATIOS.put("9:16", new int[] { 768, 1344 });
        FLUX_RATIOS.put("9:21", new int[] { 640, 1536 });
    }

    private enum Family {
        FLUX_SCHNELL, FLUX_DEV, SDXL, OTHER
    }

    private ModelCatalog() {
    }

    /** How to create a prediction for a model: the official-model route, or /v1/predictions with a version. */
    public record Route(String owner, String name, Optional<String> version) {
        public boolean official() {
            return version.isEmpty();
        }
    }

    public static Route route(String modelId) {
        String base = modelId;
        String version = null;
        int colon = modelId.indexOf(':');
        if (colon >= 0) {
            base = modelId.substring(0, colon);
            version = modelId.substring(colon + 1);
        }
        if (version == null && family(base) == Family.SDXL) {
            version = SDXL_DEFAULT_VERSION;
        }
        int slash = base.indexOf('/');
        return new Route(base.substring(0, slash), base.substring(slash + 1), Optional.ofNullable(version));
    }

    public static List<FieldError> validate(String modelId, ImageInputs p) {
        List<FieldError> errors = new ArrayList<>();
        switch (family(baseName(modelId))) {
            case FLUX_SCHNELL -> {
                if (p.numInferenceSteps() != null && p.numInferenceSteps() > 4) {
                    errors.add(new FieldError("num_inference_steps",
                            modelId + " takes 1 to 4 inference steps, got " + p.numInferenceSteps()));
                }
            }
            case FLUX_DEV -> {
                if (p.numInferenceSteps() != null && p.numInferenceSteps() > 50) {
                    errors.add(new FieldError("num_inference_steps",
                            modelId + " takes 1 to 50 inference steps, got " + p.numInferenceSteps()));
                }
                if (p.guidanceScale() != null && p.guidanceScale().compareTo(BigDecimal.TEN) > 0) {
                    errors.add(new FieldError("guidance_scale",
                            modelId + " takes a guidance scale from 0 to 10, got " + dev.imagegen.api.Numbers.brief(p.guidanceScale())));
                }
            }
            case SDXL -> {
                if (p.guidanceScale() != null && p.guidanceScale().compareTo(BigDecimal.ONE) < 0) {
                    errors.add(new FieldError("guidance_scale",
                            modelId + " takes a guidance scale from 1 to 50, got " + dev.imagegen.api.Numbers.brief(p.guidanceScale())));
                }
            }
            case OTHER -> {
                // Unknown models: nothing known to check; Replicate validates and a 422 fails the job.
            }
        }
        return errors;
    }

    /** The prediction's {@code input} object for this model. */
    public static Map<String, Object> input(String modelId, String prompt, ImageInputs p) {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("prompt", prompt);
        switch (family(baseName(modelId))) {
            case FLUX_SCHNELL, FLUX_DEV -> {
                in.put("aspect_ratio", aspectRatio(p.width(), p.height()));
                if ((long) p.width() * p.height() <= 400_000L) {
                    in.put("megapixels", "0.25");
                }
                in.put("num_outputs", p.numOutputs());
                putIfSet(in, "num_inference_steps", p.numInferenceSteps());
                if (family(baseName(modelId)) == Family.FLUX_DEV) {
                    putIfSet(in, "guidance", p.guidanceScale());
                }
                putIfSet(in, "seed", p.seed());
                putIfSet(in, "output_format", p.outputFormat());
            }
            case SDXL, OTHER -> {
                in.put("width", p.width());
                in.put("height", p.height());
                in.put("num_outputs", p.numOutputs());
                putIfSet(in, "num_inference_steps", p.numInferenceSteps());
                putIfSet(in, "guidance_scale", p.guidanceScale());
                putIfSet(in, "seed", p.seed());
                // SDXL always answers PNG and takes no output_format: dropped.
                if (family(baseName(modelId)) != Family.SDXL) {
                    putIfSet(in, "output_format", p.outputFormat());
                }
            }
        }
        return in;
    }

    /** The FLUX aspect ratio closest to width:height (by log-ratio distance). */
    public static String aspectRatio(int width, int height) {
        double want = Math.log((double) width / height);
        String best = "1:1";
        double bestDistance = Double.MAX_VALUE;
        for (Map.Entry<String, int[]> e : FLUX_RATIOS.entrySet()) {
            double d = Math.abs(Math.log((double) e.getValue()[0] / e.getValue()[1]) - want);
            if (d < bestDistance) {
                bestDistance = d;
                best = e.getKey();
            }
        }
        return best;
    }

    private static void putIfSet(Map<String, Object> in, String key, Object value) {
        if (value != null) {
            in.put(key, value);
        }
    }

    private static String baseName(String modelId) {
        int colon = modelId.indexOf(':');
        return colon < 0 ? modelId : modelId.substring(0, colon);
    }

    private static Family family(String base) {
        return switch (base) {
            case "black-forest-labs/flux-schnell" -> Family.FLUX_SCHNELL;
            case "black-forest-labs/flux-dev" -> Family.FLUX_DEV;
            case "stability-ai/sdxl" -> Family.SDXL;
            default -> Family.OTHER;
        };
    }
}
