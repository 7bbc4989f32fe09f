package dev.imagegen.testsupport;

import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/** Webhook mode: predictions report back to this app's webhook endpoint instead of being polled. */
public class WebhookProfile implements QuarkusTestProfile {

    public static final String SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "imagegen.replicate.webhook-secret", SECRET,
                "imagegen.public-base-url", "http://localhost:${quarkus.http.test-port:8081}",
                // Only the webhook wakes the job quickly; the safety-net poll is far away.
                "imagegen.replicate.webhook-safety-poll-interval", "20s",
                "imagegen.replicate.prefer-wait-seconds", "0");
    }
}
