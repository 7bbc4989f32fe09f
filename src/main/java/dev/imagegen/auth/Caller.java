package dev.imagegen.auth;

/**
 * Who is calling: a user (their JWT {@code sub}) or an operator ({@code role: service_role}, which
 * may have no subject).
 */
public record Caller(String userId, boolean operator) {

    public static final String OPERATOR_ROLE = "service_role";
}
