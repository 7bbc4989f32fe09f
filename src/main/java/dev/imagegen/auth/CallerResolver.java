package dev.imagegen.auth;

import jakarta.enterprise.context.RequestScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.jwt.JsonWebToken;

import dev.imagegen.api.ApiException;

/**
 * Turns the verified JWT (SmallRye JWT has checked signature, algorithm and {@code exp}) into a
 * {@link Caller}. A user token must carry {@code sub}; an operator token need not. A user's {@code sub}
 * must be storable and unambiguous: at most 255 characters, no control characters (PostgreSQL text cannot
 * hold NUL), and not the reserved {@link Caller#OPERATOR_OWNER}.
 */
@RequestScoped
public class CallerResolver {

    @Inject
    JsonWebToken jwt;

    public Caller caller() {
        boolean operator = jwt.getGroups() != null && jwt.getGroups().contains(Caller.OPERATOR_ROLE);
        String sub = jwt.getSubject();
        if (sub != null && (sub.isBlank() || sub.length() > 255)) {
            sub = null;
        }
        if (sub == null && !operator) {
            throw ApiException.unauthorized("The token has no subject (sub).");
        }
        if (sub != null && sub.chars().anyMatch(Character::isISOControl)) {
            throw ApiException.unauthorized("The token's subject (sub) contains control characters.");
        }
        if (!operator && Caller.OPERATOR_OWNER.equals(sub)) {
            // Operator-made generations are stored under this id: a user claiming it would see them all.
            throw ApiException.unauthorized("The token's subject (sub) is reserved.");
        }
        return new Caller(sub, operator);
    }

    /** The caller, who must be an operator. */
    public Caller operator() {
        Caller c = caller();
        if (!c.operator()) {
            throw ApiException.forbidden("This operation needs the service_role role.");
        }
        return c;
    }
}
