package dev.imagegen.api;

import jakarta.ws.rs.core.Response.Status;

/** The kinds of problems this service answers, each with a stable type URI and title. */
public enum ProblemType {
    VALIDATION(400, "validation-error", "Request validation failed"),
    MALFORMED_JSON(400, "malformed-json", "Malformed JSON body"),
    BAD_REQUEST(400, "bad-request", "Bad request"),
    UNAUTHORIZED(401, "unauthorized", "Authentication required"),
    FORBIDDEN(403, "forbidden", "Forbidden"),
    NOT_FOUND(404, "not-found", "Not found"),
    METHOD_NOT_ALLOWED(405, "method-not-allowed", "Method not allowed"),
    NOT_ACCEPTABLE(406, "not-acceptable", "Not acceptable"),
    CONFLICT(409, "conflict", "Conflict"),
    IDEMPOTENCY_CONFLICT(409, "idempotency-key-reused", "Idempotency-Key reused with a different request"),
    PAYLOAD_TOO_LARGE(413, "payload-too-large", "Request body too large"),
    UNSUPPORTED_MEDIA_TYPE(415, "unsupported-media-type", "Unsupported media type"),
    RANGE_NOT_SATISFIABLE(416, "range-not-satisfiable", "Range not satisfiable"),
    TOO_MANY_REQUESTS(429, "too-many-requests", "Too many requests"),
    UNAVAILABLE(503, "service-unavailable", "Service unavailable"),
    INTERNAL(500, "internal-error", "Internal server error");

    private static final String BASE = "https://imagegen-queue.dev/problems/";

    private final int status;
    private final String slug;
    private final String title;

    ProblemType(int status, String slug, String title) {
        this.status = status;
        this.slug = slug;
        this.title = title;
    }

    public int status() {
        return status;
    }

    public String uri() {
        return BASE + slug;
    }

    public String title() {
        return title;
    }

    /** The problem type for a bare HTTP status raised by the framework. */
    public static ProblemType forStatus(int status) {
        for (ProblemType t : values()) {
            if (t.status == status && t != VALIDATION && t != MALFORMED_JSON && t != IDEMPOTENCY_CONFLICT) {
                return t;
            }
        }
        Status.Family family = Status.Family.familyOf(status);
        return family == Status.Family.SERVER_ERROR ? INTERNAL : BAD_REQUEST;
    }
}
