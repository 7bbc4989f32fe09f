package dev.imagegen.testsupport;

import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/** Webhook mode: predictions report back to this app's webhook endpoint instead of being polled. */
public class WebhookProfile implements QuarkusTestProfile {

    public static final String SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    /** The webhook target must be known before start-up, so this profile picks a free port itself. */
    static final int PORT = freePort();

    static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of(
                "quarkus.http.test-port", String.valueOf(PORT),
                "imagegen.replicate.webhook-secret", SECRET,
                "imagegen.public-base-url", "http://localhost:" + PORT,
                // Only the webhook wakes the job quickly; the safety-net poll is far away.
                "imagegen.replicate.webhook-safety-poll-interval", "20s",
                "imagegen.replicate.prefer-wait-seconds", "0");
    }
}
