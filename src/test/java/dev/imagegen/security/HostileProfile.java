package dev.imagegen.security;

import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/**
 * The application as hostile clients meet it: webhooks enabled (so forged deliveries are verified), the
 * worker off (so the row counts before and after each request show exactly what that request wrote).
 */
public class HostileProfile implements QuarkusTestProfile {

    static final String WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "imagegen.worker.enabled", "false",
                "imagegen.replicate.webhook-secret", WEBHOOK_SECRET);
    }
}
