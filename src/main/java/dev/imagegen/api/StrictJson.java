package dev.imagegen.api;

import java.io.IOException;
import java.util.List;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Reads request bodies strictly: one JSON object, no duplicate keys, nothing after it, no
 * comments, no NaN. Type checks happen field by field in the request parsers, so that
 * {@code "1024"} or {@code 512.5} for an integer is a 400 naming the field, never a coercion.
 */
public final class StrictJson {

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .build();

    private StrictJson() {
    }

    /** Parses a request body that must be a JSON object. */
    public static ObjectNode object(byte[] body) {
        if (body == null || body.length == 0) {
            throw ApiException.invalid("body", "a JSON object is required");
        }
        JsonNode node;
        try (JsonParser parser = MAPPER.createParser(body)) {
            try {
                node = MAPPER.readTree(parser);
            } catch (StreamConstraintsException | NumberFormatException | ArithmeticException e) {
                // Over a reading limit (a number over 1000 characters, nesting over Jackson's depth) or a number
                // Jackson scanned but cannot represent (an exponent beyond an int): name the field it is in.
                throw unreadable(parser, e);
            }
            if (parser.nextToken() != null) {
                throw malformed("unexpected content after the JSON value");
            }
        } catch (JsonProcessingException e) {
            throw malformed(e.getOriginalMessage());
        } catch (IOException e) {
            throw malformed(e.getMessage());
        }
        if (node == null || node.isMissingNode()) {
            throw ApiException.invalid("body", "a JSON object is required");
        }
        if (!node.isObject()) {
            throw ApiException.invalid("body", "must be a JSON object, not " + node.getNodeType().name().toLowerCase());
        }
        return (ObjectNode) node;
    }

    private static ApiException unreadable(JsonParser parser, Exception e) {
        boolean nesting = e.getMessage() != null && e.getMessage().contains("nesting depth");
        String field = topLevelField(parser.getParsingContext());
        if (field == null || field.length() > 100) {
            return malformed(nesting ? "nested too deeply" : "a number cannot be read (too long or out of range)");
        }
        return ApiException.invalid(field, nesting
                ? "is nested too deeply"
                : "is a number that cannot be read (over 1000 characters, or an exponent beyond ±2147483647)");
    }

    /** The top-level member being read when the parser stopped, or null at the top level itself. */
    private static String topLevelField(JsonStreamContext context) {
        String name = null;
        for (JsonStreamContext c = context; c != null && !c.inRoot(); c = c.getParent()) {
            if (c.getParent() != null && c.getParent().inRoot()) {
                name = c.getCurrentName();
            }
        }
        return name;
    }

    private static ApiException malformed(String why) {
        String detail = "The body is not valid JSON: " + (why == null ? "unreadable" : why.lines().findFirst().orElse(why));
        return new ApiException(ProblemType.MALFORMED_JSON, detail,
                List.of(new Problem.FieldError("body", "malformed JSON")), java.util.Map.of());
    }
}
