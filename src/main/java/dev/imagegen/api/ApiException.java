package dev.imagegen.api;

import java.util.List;
import java.util.Map;

/**
 * A domain failure that maps to one problem+json answer. Services throw it (never a JAX-RS exception);
 * {@link ExceptionMappers} renders it, and logs it when it is a 5xx. Carries no stack trace of its own: it
 * is an expected outcome, not a bug; a 5xx that a failure underneath caused carries that failure as its cause.
 */
public class ApiException extends RuntimeException {

    private final ProblemType type;
    private final List<Problem.FieldError> errors;
    private final Map<String, String> headers;

    public ApiException(ProblemType type, String detail) {
        this(type, detail, null, Map.of());
    }

    /** A 5xx (or any answer) caused by {@code cause}, which the mapper logs with it. */
    public ApiException(ProblemType type, String detail, Throwable cause) {
        this(type, detail, null, Map.of(), cause);
    }

    public ApiException(ProblemType type, String detail, List<Problem.FieldError> errors, Map<String, String> headers) {
        this(type, detail, errors, headers, null);
    }

    private ApiException(ProblemType type, String detail, List<Problem.FieldError> errors, Map<String, String> headers,
            Throwable cause) {
        super(detail, cause, false, false);
        this.type = type;
        this.errors = errors;
        this.headers = headers;
    }

    public ProblemType type() {
        return type;
    }

    public List<Problem.FieldError> errors() {
        return errors;
    }

    public Map<String, String> headers() {
        return headers;
    }

    public static ApiException notFound(String what) {
        return new ApiException(ProblemType.NOT_FOUND, what + " was not found.");
    }

    public static ApiException conflict(String detail) {
        return new ApiException(ProblemType.CONFLICT, detail);
    }

    public static ApiException forbidden(String detail) {
        return new ApiException(ProblemType.FORBIDDEN, detail);
    }

    public static ApiException badRequest(String detail) {
        return new ApiException(ProblemType.BAD_REQUEST, detail);
    }

    public static ApiException unauthorized(String detail) {
        return new ApiException(ProblemType.UNAUTHORIZED, detail, null, Map.of("WWW-Authenticate", "Bearer"));
    }

    public static ApiException invalid(List<Problem.FieldError> errors) {
        String detail = errors.size() == 1
                ? errors.get(0).field() + ": " + errors.get(0).message()
                : errors.size() + " fields are invalid: " + String.join(", ", errors.stream().map(Problem.FieldError::field).toList()) + ".";
        return new ApiException(ProblemType.VALIDATION, detail, List.copyOf(errors), Map.of());
    }

    public static ApiException invalid(String field, String message) {
        return invalid(List.of(new Problem.FieldError(field, message)));
    }
}
