package dev.imagegen.api;

import io.vertx.core.VertxException;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * A request whose database connection was lost under it (the server restarted, a failover, an operator's
 * {@code pg_terminate_backend}) answers 503 with {@code Retry-After: 1}, not a 500: the service is fine and
 * the pool reconnects at once, so the client should simply retry (with the same {@code Idempotency-Key}
 * when it enqueues, which makes the retry safe whether or not the first try was committed). Found by the fault
 * soak (RELIABILITY.md, case 9): one enqueue in 1,201 answered 500 when its connection was killed.
 *
 * <p>The SQL client's exception types may only be named by repositories (ArchitectureTest), so the loss is
 * recognised by the class name of Vert.x' {@code ClosedConnectionException} and by PostgreSQL's SQLSTATE
 * classes 57P (operator intervention) and 08 (connection exception) in the message. Any other
 * {@link VertxException} answers the same 500 as {@code ExceptionMappers#unexpected}.
 */
public class ConnectionLossMapper {

    private static final Logger LOG = Logger.getLogger(ConnectionLossMapper.class);

    @ServerExceptionMapper
    public Response vertx(VertxException e, UriInfo uri) {
        String path = uri == null ? null : uri.getPath();
        if (!connectionLost(e)) {
            LOG.errorf(e, "Request %s failed unexpectedly", path);
            return answer(ProblemType.INTERNAL, "The service could not complete this request. It has been logged.", path).build();
        }
        LOG.warnf("Request %s lost its database connection (%s); answered 503", path, e.getMessage());
        return answer(ProblemType.UNAVAILABLE, "The database connection was lost while answering; try again in a moment "
                + "(with the same Idempotency-Key, an enqueue is never done twice).", path)
                .header("Retry-After", "1").build();
    }

    static boolean connectionLost(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String name = t.getClass().getName();
            String message = t.getMessage() == null ? "" : t.getMessage();
            if (name.equals("io.vertx.sqlclient.ClosedConnectionException") || message.contains("(57P0")
                    || message.matches("(?s).*\\(08[0-9A-Z]{3}\\).*")) {
                return true;
            }
        }
        return false;
    }

    private static Response.ResponseBuilder answer(ProblemType type, String detail, String path) {
        return Response.status(type.status()).type(Problem.MEDIA_TYPE)
                .entity(new Problem(type.uri(), type.title(), type.status(), detail, path, null));
    }
}
