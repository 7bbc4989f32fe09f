package dev.imagegen.simulator;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

import dev.imagegen.webhook.StandardWebhooks;

/**
 * The simulator's settings, changed at any time through {@link ReplicateSimulator}'s fluent setters and read
 * by its routes on event loops: every field is volatile or concurrent, so no lock is needed.
 */
final class SimulatorSettings {

    volatile String publicBaseUrl;
    volatile String prefix = "";
    volatile Duration delay;
    volatile SimulatorInterceptor interceptor = SimulatorInterceptor.NONE;
    volatile Set<String> officialModels = Set.copyOf(ReplicateSimulator.DEFAULT_OFFICIAL_MODELS);
    final Map<String, String> knownVersions = new ConcurrentHashMap<>(ReplicateSimulator.DEFAULT_KNOWN_VERSIONS);
    volatile boolean acceptAnyVersion = true;
    volatile Predicate<String> tokenCheck = token -> !token.isBlank();
    /** Created on first use, not at class initialization: a native image must not freeze a random secret. */
    private volatile String webhookSecret;
    volatile List<Duration> webhookRetryBackoff = List.of(Duration.ofSeconds(1), Duration.ofSeconds(3),
            Duration.ofSeconds(8), Duration.ofSeconds(16), Duration.ofSeconds(32));
    volatile Duration webhookTimeout = Duration.ofSeconds(10);
    volatile int maxPredictions = 10_000;
    volatile Duration outputRetention = Duration.ofHours(1);

    SimulatorSettings(String publicBaseUrl, Duration delay) {
        this.publicBaseUrl = stripSlash(publicBaseUrl);
        this.delay = delay;
    }

    String webhookSecret() {
        String s = webhookSecret;
        if (s == null) {
            synchronized (this) {
                if (webhookSecret == null) {
                    webhookSecret = StandardWebhooks.newSecret();
                }
                s = webhookSecret;
            }
        }
        return s;
    }

    void webhookSecret(String secret) {
        webhookSecret = secret;
    }

    /** Whether an output's retention is set (null or zero keeps outputs). */
    boolean outputsExpire() {
        Duration r = outputRetention;
        return r != null && !r.isZero() && !r.isNegative();
    }

    static String stripSlash(String s) {
        if (s == null) {
            return null;
        }
        String r = s;
        while (r.endsWith("/")) {
            r = r.substring(0, r.length() - 1);
        }
        return r;
    }
}
