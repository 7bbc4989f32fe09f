package dev.imagegen.packaged;

import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import dev.imagegen.testsupport.Tokens;

/**
 * What the packaged application needs in the {@code prod} profile beyond the database and Replicate URLs that
 * PostgresResource and FakeReplicateResource give it: prod refuses to start without a JWT secret
 * (StartupChecks), and the images go under {@code target/} instead of the working folder's {@code data/}.
 * Values only the {@code %test} profile sets elsewhere, passed to the launched jar (or native executable) as
 * system properties.
 */
public class ProdSettingsResource implements QuarkusTestResourceLifecycleManager {

    @Override
    public Map<String, String> start() {
        return Map.of(
                "imagegen.auth.jwt-secret", Tokens.SECRET,
                "imagegen.storage.dir", "target/it-images",
                // one attempt answers quickly in these tests; the fake answers within 150 ms
                "imagegen.replicate.poll-initial-interval", "50ms",
                "imagegen.replicate.poll-max-interval", "200ms");
    }

    @Override
    public void stop() {
        // nothing started
    }
}
