package dev.imagegen.health;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationVersion;
import org.jboss.logging.Logger;

import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;

/**
 * The newest migration this build ships ({@code db/migration/V<n>__*.sql}), as Flyway resolves it.
 * Read once at start-up (Flyway reads its history over JDBC, which start-up may block on); if the
 * database could not be read then, the readiness check asks again, off the event loop, until it can.
 */
@ApplicationScoped
public class ExpectedSchema {

    private static final Logger LOG = Logger.getLogger(ExpectedSchema.class);

    @Inject
    Instance<Flyway> flyway;

    private volatile MigrationVersion newest;
    private volatile String problem = "not resolved yet";
    private volatile boolean started;
    private final AtomicBoolean resolving = new AtomicBoolean();

    void start(@Observes StartupEvent ev) {
        resolveBlocking();
        started = true;
    }

    /** Whether start-up has run (the startup check's signal). */
    public boolean started() {
        return started;
    }

    /** The newest migration version this build ships, if known. */
    public Optional<MigrationVersion> newest() {
        return Optional.ofNullable(newest);
    }

    /** Why {@link #newest()} is empty. */
    public String problem() {
        return problem;
    }

    /**
     * The newest version, resolving it on a worker thread if start-up could not (one attempt at a time;
     * a caller arriving meanwhile gets an empty answer).
     */
    public Uni<Optional<MigrationVersion>> resolve(Duration timeout) {
        if (newest != null) {
            return Uni.createFrom().item(Optional.of(newest));
        }
        if (!resolving.compareAndSet(false, true)) {
            return Uni.createFrom().item(Optional.empty());
        }
        // The attempt runs to its end even if the caller times out; the flag then lets the next one in.
        Uni<Optional<MigrationVersion>> attempt = Uni.createFrom().item(this::resolveBlockingOnce)
                .runSubscriptionOn(Infrastructure.getDefaultWorkerPool())
                .memoize().indefinitely();
        attempt.subscribe().with(v -> {
        }, e -> {
        });
        return attempt.ifNoItem().after(timeout).recoverWithItem(Optional.empty());
    }

    private Optional<MigrationVersion> resolveBlockingOnce() {
        try {
            return resolveBlocking();
        } finally {
            resolving.set(false);
        }
    }

    private Optional<MigrationVersion> resolveBlocking() {
        if (!flyway.isResolvable()) {
            problem = "Flyway is not configured";
            return Optional.empty();
        }
        try {
            MigrationVersion max = null;
            for (MigrationInfo info : flyway.get().info().all()) {
                if (info.isVersioned() && info.getVersion() != null && info.getState().isResolved()
                        && (max == null || info.getVersion().compareTo(max) > 0)) {
                    max = info.getVersion();
                }
            }
            if (max == null) {
                problem = "this build ships no versioned migration";
                return Optional.empty();
            }
            newest = max;
            return Optional.of(max);
        } catch (RuntimeException e) {
            problem = "Flyway could not read the migrations: " + e.getMessage();
            LOG.warnf("Could not resolve the expected schema version (%s); readiness retries", e.getMessage());
            return Optional.empty();
        }
    }
}
