package dev.imagegen.api;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * An RFC 9457 problem details body ({@code application/problem+json}).
 *
 * @param type     a URI naming the kind of problem ({@code about:blank} for plain HTTP statuses)
 * @param title    short, stable summary of the kind
 * @param status   the HTTP status code
 * @param detail   what went wrong with this request, in words a person can act on
 * @param instance the request path
 * @param errors   for validation problems: every offending field and why
 */
@RegisterForReflection
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Problem(String type, String title, int status, String detail, String instance, List<FieldError> errors) {

    public static final String MEDIA_TYPE = "application/problem+json";

    /** One invalid field: a JSON pointer-ish name ({@code width}, {@code body}, {@code query.limit}) and the reason. */
    @RegisterForReflection
    public record FieldError(String field, String message) {
    }
}
