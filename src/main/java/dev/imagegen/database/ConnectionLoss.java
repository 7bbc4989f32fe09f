package dev.imagegen.database;

import java.net.ConnectException;

/**
 * Recognises a lost database connection (the server restarted, a failover, an operator's
 * {@code pg_terminate_backend}) in a failure's cause chain. Such a failure says nothing about the request or
 * the job that met it: the pool reconnects at once, so an API call answers 503 + {@code Retry-After} and a
 * job goes back to the queue without spending its attempt.
 *
 * <p>The SQL client's exception types may only be named by repositories (ArchitectureTest), so the loss is
 * recognised by the class name of Vert.x' {@code ClosedConnectionException} and by PostgreSQL's SQLSTATE
 * classes 57P (operator intervention: shutdown, terminated backend) and 08 (connection exception) in the
 * message; a refused connect ({@link ConnectException}: the server is down or restarting) counts too. Callers
 * ask only about failures of database calls: Replicate's and the downloads' failures reach them already
 * named ({@code JobException}).
 */
public final class ConnectionLoss {

    private static final String CLOSED_CONNECTION = "io.vertx.sqlclient.ClosedConnectionException";

    private ConnectionLoss() {
    }

    /** Whether {@code failure} or one of its causes is a lost database connection. */
    public static boolean in(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String message = t.getMessage() == null ? "" : t.getMessage();
            if (t instanceof ConnectException || t.getClass().getName().equals(CLOSED_CONNECTION) || message.contains("(57P0")
                    || message.matches("(?s).*\\(08[0-9A-Z]{3}\\).*")) {
                return true;
            }
        }
        return false;
    }
}
