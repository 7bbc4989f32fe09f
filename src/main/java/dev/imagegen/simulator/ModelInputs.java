package dev.imagegen.simulator;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Input validation and image sizes for the simulated models (replicate-api.md §5). Errors are shaped
 * like Replicate's 422 "Input validation failed" ({@code invalid_fields} entries with gojsonschema
 * wording). Unknown input keys are ignored, as cog does.
 */
final class ModelInputs {

    enum Family {
        FLUX_SCHNELL, FLUX_DEV, SDXL, OTHER
    }

    /** FLUX aspect ratios and their 1-megapixel sizes (replicate-api.md §5.1). */
    static final Map<String, int[]> FLUX_SIZES = Map.ofEntries(
            Map.entry("1:1", new int[] { 1024, 1024 }),
            Map.entry("16:9", new int[] { 1344, 768 }),
            Map.entry("21:9", new int[] { 1536, 640 }),
            Map.entry("3:2", new int[] { 1216, 832 }),
            Map.entry("2:3", new int[] { 832, 1216 }),
            Map.entry("4:5", new int[] { 896, 1088 }),
            Map.entry("5:4", new int[] { 1088, 896 }),
            Map.entry("3:4", new int[] { 896, 1152 }),
            Map.entry("4:3", new int[] { 1152, 896 }),
            Map.entry("9:16", new int[] { 768, 1344 }),
            Map.entry("9:21", new int[] { 640, 1536 }));

    private static final List<String> FLUX_RATIOS = List.of("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3",
            "9:16", "9:21");
    private static final List<String> FLUX_FORMATS = List.of("webp", "jpg", "png");
    private static final List<String> FLUX_MEGAPIXELS = List.of("1", "0.25");
    private static final List<String> SDXL_SCHEDULERS = List.of("DDIM", "DPMSolverMultistep", "HeunDiscrete", "KarrasDPM",
            "K_EULER_ANCESTRAL", "K_EULER", "PNDM");
    private static final List<String> SDXL_REFINE = List.of("no_refiner", "expert_ensemble_refiner", "base_image_refiner");

    private ModelInputs() {
    }

    static Family family(String model) {
        return switch (model) {
            case "black-forest-labs/flux-schnell" -> Family.FLUX_SCHNELL;
            case "black-forest-labs/flux-dev" -> Family.FLUX_DEV;
            case "stability-ai/sdxl" -> Family.SDXL;
            default -> Family.OTHER;
        };
    }

    /** Problems with the request body's {@code input}, as {@code invalid_fields} entries; empty when valid. */
    static List<JsonObject> validate(String model, JsonObject body) {
        List<JsonObject> errors = new ArrayList<>();
        Object rawInput = body.getValue("input");
        if (rawInput == null) {
            errors.add(error("required", "(root)", "input is required"));
            return errors;
        }
        if (!(rawInput instanceof JsonObject input)) {
            errors.add(invalidType("input", "object", rawInput));
            return errors;
        }
        Object prompt = input.getValue("prompt");
        if (prompt == null && !input.containsKey("prompt")) {
            errors.add(error("required", "input", "prompt is required"));
        } else if (!(prompt instanceof String)) {
            errors.add(invalidType("input.prompt", "string", prompt));
        }
        integer(errors, input, "num_outputs", 1L, 4L);
        integer(errors, input, "seed", null, null);
        switch (family(model)) {
            case FLUX_SCHNELL, FLUX_DEV -> {
                oneOf(errors, input, "aspect_ratio", FLUX_RATIOS);
                oneOf(errors, input, "output_format", FLUX_FORMATS);
                oneOf(errors, input, "megapixels", FLUX_MEGAPIXELS);
                integer(errors, input, "output_quality", 0L, 100L);
                bool(errors, input, "go_fast");
                bool(errors, input, "disable_safety_checker");
                if (family(model) == Family.FLUX_SCHNELL) {
                    integer(errors, input, "num_inference_steps", 1L, 4L);
                } else {
                    integer(errors, input, "num_inference_steps", 1L, 50L);
                    number(errors, input, "guidance", 0, 10);
                }
            }
            case SDXL -> {
                integer(errors, input, "width", null, null);
                integer(errors, input, "height", null, null);
                integer(errors, input, "num_inference_steps", 1L, 500L);
                number(errors, input, "guidance_scale", 1, 50);
                oneOf(errors, input, "scheduler", SDXL_SCHEDULERS);
                oneOf(errors, input, "refine", SDXL_REFINE);
            }
            case OTHER -> {
                integer(errors, input, "width", null, null);
                integer(errors, input, "height", null, null);
            }
        }
        return errors;
    }

    /** The Replicate-style {@code detail} text of a list of {@code invalid_fields}. */
    static String detail(List<JsonObject> errors) {
        StringBuilder b = new StringBuilder();
        for (JsonObject e : errors) {
            b.append("- ").append(e.getString("field")).append(": ").append(e.getString("description")).append('\n');
        }
        return b.toString();
    }

    /** Width and height of the pictures, at most {@code maxSide} per side. */
    static int[] size(String model, JsonObject input, int maxSide) {
        int width;
        int height;
        Family family = family(model);
        if (family == Family.FLUX_SCHNELL || family == Family.FLUX_DEV) {
            int[] s = FLUX_SIZES.getOrDefault(input.getString("aspect_ratio", "1:1"), FLUX_SIZES.get("1:1"));
            boolean quarter = "0.25".equals(input.getValue("megapixels"));
            width = quarter ? s[0] / 2 : s[0];
            height = quarter ? s[1] / 2 : s[1];
        } else {
            width = intOr(input.getValue("width"), 1024);
            height = intOr(input.getValue("height"), 1024);
        }
        return new int[] { clamp(width, maxSide), clamp(height, maxSide) };
    }

    /** {@code num_outputs}, 1 to 4. */
    static int numOutputs(JsonObject input) {
        return Math.max(1, Math.min(4, intOr(input.getValue("num_outputs"), 1)));
    }

    private static int clamp(int v, int max) {
        return Math.max(1, Math.min(max, v));
    }

    private static int intOr(Object v, int fallback) {
        return v instanceof Number n ? (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, n.longValue())) : fallback;
    }

    private static void integer(List<JsonObject> errors, JsonObject input, String key, Long min, Long max) {
        if (!input.containsKey(key)) {
            return;
        }
        Object v = input.getValue(key);
        if (!isInteger(v)) {
            errors.add(invalidType("input." + key, "integer", v));
            return;
        }
        range(errors, key, ((Number) v).doubleValue(), min == null ? null : min.doubleValue(),
                max == null ? null : max.doubleValue(), min == null ? "" : Long.toString(min), max == null ? "" : Long.toString(max));
    }

    private static void number(List<JsonObject> errors, JsonObject input, String key, double min, double max) {
        if (!input.containsKey(key)) {
            return;
        }
        Object v = input.getValue(key);
        if (!(v instanceof Number n)) {
            errors.add(invalidType("input." + key, "number", v));
            return;
        }
        range(errors, key, n.doubleValue(), min, max, plain(min), plain(max));
    }

    private static void range(List<JsonObject> errors, String key, double v, Double min, Double max, String minText,
            String maxText) {
        if (min != null && v < min) {
            errors.add(error("number_gte", "input." + key, "Must be greater than or equal to " + minText));
        } else if (max != null && v > max) {
            errors.add(error("number_lte", "input." + key, "Must be less than or equal to " + maxText));
        }
    }

    private static void oneOf(List<JsonObject> errors, JsonObject input, String key, List<String> allowed) {
        if (!input.containsKey(key)) {
            return;
        }
        Object v = input.getValue(key);
        if (!(v instanceof String) || !allowed.contains(v)) {
            StringBuilder b = new StringBuilder(key).append(" must be one of the following: ");
            for (int i = 0; i < allowed.size(); i++) {
                b.append(i == 0 ? "" : ", ").append('"').append(allowed.get(i)).append('"');
            }
            errors.add(error("enum", "input." + key, b.toString()));
        }
    }

    private static void bool(List<JsonObject> errors, JsonObject input, String key) {
        if (input.containsKey(key) && !(input.getValue(key) instanceof Boolean)) {
            errors.add(invalidType("input." + key, "boolean", input.getValue(key)));
        }
    }

    private static boolean isInteger(Object v) {
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            return true;
        }
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            return !Double.isInfinite(d) && d == Math.rint(d);
        }
        return false;
    }

    private static JsonObject invalidType(String field, String expected, Object given) {
        return error("invalid_type", field, "Invalid type. Expected: " + expected + ", given: " + typeName(given));
    }

    private static JsonObject error(String type, String field, String description) {
        return new JsonObject().put("type", type).put("field", field).put("description", description);
    }

    private static String typeName(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof String) {
            return "string";
        }
        if (v instanceof Boolean) {
            return "boolean";
        }
        if (v instanceof JsonObject) {
            return "object";
        }
        if (v instanceof JsonArray) {
            return "array";
        }
        if (v instanceof Integer || v instanceof Long) {
            return "integer";
        }
        return v instanceof Number ? "number" : "unknown";
    }

    private static String plain(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
