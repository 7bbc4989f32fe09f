package dev.imagegen.api;

import java.util.List;

import jakarta.ws.rs.NotAllowedException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;

import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import com.fasterxml.jackson.core.JsonProcessingException;

import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.ForbiddenException;
import io.quarkus.security.UnauthorizedException;
import io.vertx.core.VertxException;

import dev.imagegen.database.ConnectionLoss;

/**
 * The one global set of exception mappers: every error the REST layer answers, the framework's own
 * included, becomes {@code application/problem+json}. Services throw {@link ApiException} (or a subclass
 * of it) and nothing HTTP-typed; this class alone turns them into answers. Every 5xx is logged, with its
 * cause; no 4xx is (a client's mistake is not the service's problem, and logging each would let clients
 * flood the log).
 */
public class ExceptionMappers {

    private static final Logger LOG = Logger.getLogger(ExceptionMappers.class);

    @ServerExceptionMapper
    public Response api(ApiException e, UriInfo uri) {
        if (e.type().status() >= 500) {
            logServerError(e, uri);
        }
        Response.ResponseBuilder rb = problem(e.type(), e.getMessage(), e.errors(), uri);
        e.headers().forEach(rb::header);
        return rb.build();
    }

    @ServerExceptionMapper({ UnauthorizedException.class, AuthenticationFailedException.class })
    public Response unauthorized(RuntimeException e, UriInfo uri) {
        return problem(ProblemType.UNAUTHORIZED, "A valid bearer token is required (Authorization: Bearer <JWT>).", null, uri)
                .header(HttpHeaders.WWW_AUTHENTICATE, "Bearer")
                .build();
    }

    @ServerExceptionMapper
    public Response forbidden(ForbiddenException e, UriInfo uri) {
        return problem(ProblemType.FORBIDDEN, "This operation needs the service_role role.", null, uri).build();
    }

    @ServerExceptionMapper
    public Response json(JsonProcessingException e, UriInfo uri) {
        return problem(ProblemType.MALFORMED_JSON, "The body is not valid JSON: " + e.getOriginalMessage(),
                List.of(new Problem.FieldError("body", "malformed JSON")), uri).build();
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e, UriInfo uri) {
        Response original = e.getResponse();
        int status = original == null ? 500 : original.getStatus();
        ProblemType type = ProblemType.forStatus(status);
        if (status >= 500) {
            LOG.errorf(e, "Request %s failed", path(uri));
        }
        Response.ResponseBuilder rb = Response.status(status)
                .type(Problem.MEDIA_TYPE)
                .entity(new Problem(type.uri(), type.title(), status, detail(e, status), path(uri), null));
        if (e instanceof NotAllowedException && original != null && original.getHeaderString(HttpHeaders.ALLOW) != null) {
            rb.header(HttpHeaders.ALLOW, original.getHeaderString(HttpHeaders.ALLOW));
        }
        if (status == 401) {
            rb.header(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
        }
        return rb.build();
    }

    /**
     * A request whose database connection was lost under it answers 503 with {@code Retry-After: 1}, not a
     * 500: the service is fine and the pool reconnects at once, so the client should simply retry (with the
     * same {@code Idempotency-Key} when it enqueues, which makes the retry safe whether or not the first try
     * was committed). Found by the fault soak (RELIABILITY.md, case 9): one enqueue in 1,201 answered 500 when
     * its connection was killed. Any other Vert.x failure is the same 500 as {@link #unexpected}.
     */
    @ServerExceptionMapper
    public Response vertx(VertxException e, UriInfo uri) {
        if (!ConnectionLoss.in(e)) {
            return unexpected(e, uri);
        }
        LOG.warnf("Request %s lost its database connection (%s); answered 503", path(uri), e.getMessage());
        return problem(ProblemType.UNAVAILABLE, "The database connection was lost while answering; try again in a moment "
                + "(with the same Idempotency-Key, an enqueue is never done twice).", null, uri)
                .header("Retry-After", "1").build();
    }

    @ServerExceptionMapper(priority = jakarta.ws.rs.Priorities.USER + 1000)
    public Response unexpected(Throwable e, UriInfo uri) {
        LOG.errorf(e, "Request %s failed unexpectedly", path(uri));
        return problem(ProblemType.INTERNAL, "The service could not complete this request. It has been logged.", null, uri).build();
    }

    /**
     * A 5xx that names its cause (a failure underneath: the database, the store) is an error; one without a
     * cause is an expected refusal (this replica at its stream cap, shutting down): a warning.
     */
    private static void logServerError(ApiException e, UriInfo uri) {
        if (e.getCause() != null) {
            LOG.errorf(e.getCause(), "Request %s failed: %s", path(uri), e.getMessage());
        } else {
            LOG.warnf("Request %s answered %d: %s", path(uri), e.type().status(), e.getMessage());
        }
    }

    private static String detail(WebApplicationException e, int status) {
        return switch (status) {
            case 404 -> "No resource exists at this path.";
            case 405 -> "This method is not allowed on this path.";
            case 406 -> "The requested media type cannot be produced.";
            case 413 -> "The request body is too large.";
            case 415 -> "The request body must be application/json.";
            default -> e.getMessage() == null ? "HTTP " + status : e.getMessage();
        };
    }

    private static Response.ResponseBuilder problem(ProblemType type, String detail, List<Problem.FieldError> errors, UriInfo uri) {
        return Response.status(type.status())
                .type(Problem.MEDIA_TYPE)
                .entity(new Problem(type.uri(), type.title(), type.status(), detail, path(uri), errors));
    }

    private static String path(UriInfo uri) {
        return uri == null ? null : uri.getPath();
    }
}
