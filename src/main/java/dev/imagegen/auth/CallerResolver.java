package dev.imagegen.auth;

import jakarta.enterprise.context.RequestScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.jwt.JsonWebToken;

import io.quarkus.security.identity.CurrentIdentityAssociation;
import io.smallrye.mutiny.Uni;

import dev.imagegen.api.ApiException;

/**
 * Turns the verified JWT (SmallRye JWT has checked signature, algorithm and {@code exp}) into a
 * {@link Caller}. A user token must carry {@code sub}; an operator token need not. A user's {@code sub}
 * must be storable and unambiguous: at most 255 characters, no control characters (PostgreSQL text cannot
 * hold NUL), and not the reserved {@link Caller#OPERATOR_OWNER}.
 *
 * <p>The one place that resolves who is calling: {@link #caller()} where the framework has authenticated
 * the request ({@code @Authenticated}), {@link #authenticate(String)} where a route lets a signed link in
 * and asks for a token only without one.
 */
@RequestScoped
public class CallerResolver {

    @Inject
    JsonWebToken jwt;

    @Inject
    CurrentIdentityAssociation identities;

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

    /**
     * Authenticates now, lazily (proactive authentication is off), and resolves the caller: an invalid token
     * fails with 401, and so does no token at all ({@code anonymousDetail} says what the route accepts).
     */
    public Uni<Caller> authenticate(String anonymousDetail) {
        return authenticated(anonymousDetail).map(v -> caller());
    }

    /**
     * {@link #authenticate} without resolving the caller yet, for a route that checks its request between
     * the two (and so answers a malformed id before a token's unusable subject, as it always has).
     */
    public Uni<Void> authenticated(String anonymousDetail) {
        return identities.getDeferredIdentity().map(identity -> {
            if (identity.isAnonymous()) {
                throw ApiException.unauthorized(anonymousDetail);
            }
            // The token is read through the current identity: keep it resolved for this IO thread.
            identities.setIdentity(identity);
            return null;
        });
    }
}
