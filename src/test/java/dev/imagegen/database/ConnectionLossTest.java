package dev.imagegen.database;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;

import org.junit.jupiter.api.Test;

import io.vertx.core.VertxException;
import io.vertx.sqlclient.ClosedConnectionException;

class ConnectionLossTest {

    @Test
    void aLostOrRefusedConnectionIsRecognisedAnywhereInTheCauseChain() {
        assertTrue(ConnectionLoss.in(ClosedConnectionException.INSTANCE));
        assertTrue(ConnectionLoss.in(new RuntimeException("run failed", new ConnectException("Connection refused: /127.0.0.1:5432"))));
        assertTrue(ConnectionLoss.in(new VertxException(
                "FATAL: terminating connection due to administrator command (57P01)", true)));
        assertTrue(ConnectionLoss.in(new VertxException("connection failure (08006)", true)));
    }

    @Test
    void otherFailuresAreNot() {
        assertFalse(ConnectionLoss.in(new VertxException("duplicate key value violates unique constraint (23505)", true)));
        assertFalse(ConnectionLoss.in(new IllegalStateException("job insert failed on purpose (P0001)")));
        assertFalse(ConnectionLoss.in(null));
    }
}
