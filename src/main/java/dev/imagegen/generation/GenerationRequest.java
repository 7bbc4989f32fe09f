package dev.imagegen.generation;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.Numbers;
import dev.imagegen.api.Problem.FieldError;
import dev.imagegen.replicate.ModelCatalog;

/**
 * A validated {@code POST /v1/generations} body. {@link #parse} reports every offending field at
 * once; it never coerces types ({@code "1024"} and {@code 512.5} are not integers). Every number is read
 * in constant work: extreme exponents and long integers are compared, never expanded, and an accepted
 * decimal is stored as a short one (see {@link Numbers}).
 */
public record GenerationRequest(String prompt, String modelId, GenerationParameters parameters, Integer priority) {

    public static final String DEFAULT_MODEL = "black-forest-labs/flux-schnell";
    public static final Pattern MODEL_ID = Pattern.compile("^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+(:[0-9a-f]{64})?$");
    public static final Set<String> OUTPUT_FORMATS = Set.of("webp", "png", "jpg");

    private static final Set<String> FIELDS = Set.of("prompt", "model_id", "width", "height", "num_inference_steps",
            "guidance_scale", "seed", "num_outputs", "output_format", "priority");

    public static GenerationRequest parse(ObjectNode body) {
        List<FieldError> errors = new ArrayList<>();
        for (Iterator<String> it = body.fieldNames(); it.hasNext();) {
            String name = it.next();
            if (!FIELDS.contains(name)) {
                errors.add(new FieldError(name, "unknown field"));
            }
        }

        String prompt = null;
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) {
            errors.add(new FieldError("prompt", "is required"));
        } else if (!p.isTextual()) {
            errors.add(new FieldError("prompt", "must be a string"));
        } else {
            prompt = p.textValue().strip();
            int length = prompt.codePointCount(0, prompt.length());
            if (length < 1 || length > 4000) {
                errors.add(new FieldError("prompt", "must be 1 to 4000 characters after trimming, got " + length));
            } else if (prompt.indexOf('\u0000') >= 0) {
                errors.add(new FieldError("prompt", "must not contain NUL characters"));
            } else if (!wellFormed(prompt)) {
                // "\ud800" is valid JSON but not text: it would be stored as "?" without a word
                errors.add(new FieldError("prompt", "must be valid Unicode text (an unpaired surrogate was found)"));
            }
        }

        String modelId = DEFAULT_MODEL;
        JsonNode m = body.get("model_id");
        if (m != null && !m.isNull()) {
            if (!m.isTextual()) {
                errors.add(new FieldError("model_id", "must be a string"));
            } else if (!MODEL_ID.matcher(m.textValue()).matches() || m.textValue().length() > 200) {
                errors.add(new FieldError("model_id", "must be owner/name or owner/name:<64-hex version id>"));
            } else {
                modelId = m.textValue();
            }
        }

        Integer width = dimension(body, "width", errors);
        Integer height = dimension(body, "height", errors);
        Integer steps = integer(body, "num_inference_steps", 1, 100, errors);
        BigDecimal guidance = number(body, "guidance_scale", BigDecimal.ZERO, BigDecimal.valueOf(50), errors);
        Long seed = seed(body, errors);
        Integer outputs = integer(body, "num_outputs", 1, 4, errors);
        Integer priority = integer(body, "priority", -100, 100, errors);

        String format = null;
        JsonNode f = body.get("output_format");
        if (f != null && !f.isNull()) {
            if (!f.isTextual() || !OUTPUT_FORMATS.contains(f.textValue())) {
                errors.add(new FieldError("output_format", "must be one of webp, png, jpg"));
            } else {
                format = f.textValue();
            }
        }

        if (!errors.isEmpty()) {
            throw ApiException.invalid(errors);
        }
        GenerationParameters params = new GenerationParameters(
                width == null ? GenerationParameters.DEFAULT_SIZE : width,
                height == null ? GenerationParameters.DEFAULT_SIZE : height,
                steps, guidance, seed,
                outputs == null ? GenerationParameters.DEFAULT_OUTPUTS : outputs,
                format);
        List<FieldError> modelErrors = ModelCatalog.validate(modelId, params);
        if (!modelErrors.isEmpty()) {
            throw ApiException.invalid(modelErrors);
        }
        return new GenerationRequest(prompt, modelId, params, priority);
    }

    /** The request in canonical form, for telling "same body" from "other body" under one Idempotency-Key. */
    public Map<String, Object> canonical() {
        java.util.TreeMap<String, Object> map = new java.util.TreeMap<>();
        map.put("prompt", prompt);
        map.put("model_id", modelId);
        map.put("width", parameters.width());
        map.put("height", parameters.height());
        map.put("num_inference_steps", parameters.numInferenceSteps());
        map.put("guidance_scale", parameters.guidanceScale() == null ? null : parameters.guidanceScale().stripTrailingZeros().toPlainString());
        map.put("seed", parameters.seed());
        map.put("num_outputs", parameters.numOutputs());
        map.put("output_format", parameters.outputFormat());
        map.put("priority", priority);
        return map;
    }

    /** Whether every surrogate in {@code s} is part of a pair. */
    private static boolean wellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return false;
            }
        }
        return true;
    }

    private static Integer dimension(ObjectNode body, String name, List<FieldError> errors) {
        Integer v = integer(body, name, 64, 2048, errors);
        if (v != null && v % 8 != 0) {
            errors.add(new FieldError(name, "must be a multiple of 8, got " + v));
            return null;
        }
        return v;
    }

    private static Integer integer(ObjectNode body, String name, int min, int max, List<FieldError> errors) {
        JsonNode n = body.get(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isIntegralNumber()) {
            errors.add(new FieldError(name, "must be an integer from " + min + " to " + max));
            return null;
        }
        BigInteger v = n.bigIntegerValue();
        if (v.compareTo(BigInteger.valueOf(min)) < 0 || v.compareTo(BigInteger.valueOf(max)) > 0) {
            errors.add(new FieldError(name, "must be from " + min + " to " + max + ", got " + Numbers.brief(v)));
            return null;
        }
        return v.intValue();
    }

    private static BigDecimal number(ObjectNode body, String name, BigDecimal min, BigDecimal max, List<FieldError> errors) {
        JsonNode n = body.get(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isNumber()) {
            errors.add(new FieldError(name, "must be a number from " + min + " to " + max));
            return null;
        }
        BigDecimal v = n.decimalValue();
        if (v.compareTo(min) < 0 || v.compareTo(max) > 0) {
            errors.add(new FieldError(name, "must be from " + min + " to " + max + ", got " + Numbers.brief(v)));
            return null;
        }
        // 1e-999999999 is in range: store it as the short number it is close to (0), never its expansion.
        return Numbers.sane(v);
    }

    private static Long seed(ObjectNode body, List<FieldError> errors) {
        JsonNode n = body.get("seed");
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isIntegralNumber()) {
            errors.add(new FieldError("seed", "must be an integer ≥ 0"));
            return null;
        }
        BigInteger v = n.bigIntegerValue();
        if (v.signum() < 0 || v.bitLength() > 63) {
            errors.add(new FieldError("seed", "must be an integer from 0 to " + Long.MAX_VALUE));
            return null;
        }
        return v.longValue();
    }
}
