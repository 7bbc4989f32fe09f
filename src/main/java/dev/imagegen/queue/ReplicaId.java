package dev.imagegen.queue;

import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;

/**
 * This replica's name as a lease owner: the host name (the pod name on Kubernetes) and a random
 * suffix, so a restarted pod never mistakes its predecessor's leases for its own. Each claim appends
 * {@code :random} to it (see {@link JobRepository#CLAIM}), so the name never holds a colon itself.
 */
@ApplicationScoped
public class ReplicaId {

    private final String id;

    public ReplicaId() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            host = "replica";
        }
        host = host.replace(':', '-');
        if (host.length() > 48) {
            host = host.substring(0, 48);
        }
        this.id = host + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    public String value() {
        return id;
    }

    @Override
    public String toString() {
        return id;
    }
}
