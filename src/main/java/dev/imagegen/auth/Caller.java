package dev.imagegen.auth;

/**
 * Who is calling: a user (their JWT {@code sub}) or an operator ({@code role: service_role}, which
 * may have no subject).
 */
public record Caller(String userId, boolean operator) {

    public static final String OPERATOR_ROLE = "service_role";

    /**
     * The owner recorded for generations made with an operator token that has no subject (Supabase's
     * service-role key has none). It is reserved: a user token whose {@code sub} is this id is refused, so
     * no user can read those generations as their own.
     */
    public static final String OPERATOR_OWNER = "service_role";
}
