package dev.imagegen.testsupport;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Starts a {@link FakeReplicate} for a Quarkus test run and points the application at it.
 *
 * <pre>{@code
 * @QuarkusTest
 * @QuarkusTestResource(FakeReplicateResource.class)
 * class GenerationFlowTest {
 *     @InjectFakeReplicate
 *     FakeReplicate replicate;
 *
 *     @BeforeEach
 *     void clean() {
 *         replicate.reset();
 *     }
 * }
 * }</pre>
 *
 * Config returned: {@code imagegen.replicate.base-url}, {@code imagegen.replicate.api-token=test-token},
 * {@code imagegen.replicate.allowed-output-hosts=127.0.0.1,localhost}; with the init argument
 * {@code webhooks=true} also {@code imagegen.replicate.webhook-secret} (webhook mode). The init argument
 * {@code delay-ms} sets the prediction duration (default {@link FakeReplicate#DEFAULT_DELAY}).
 * The fake only accepts the bearer token {@code test-token} (kept across {@link FakeReplicate#reset()}).
 */
public class FakeReplicateResource implements QuarkusTestResourceLifecycleManager {

    private static volatile FakeReplicate fake;

    private boolean webhooks;
    private Duration delay = FakeReplicate.DEFAULT_DELAY;

    @Override
    public void init(Map<String, String> initArgs) {
        webhooks = Boolean.parseBoolean(initArgs.getOrDefault("webhooks", "false"));
        if (initArgs.containsKey("delay-ms")) {
            delay = Duration.ofMillis(Long.parseLong(initArgs.get("delay-ms")));
        }
    }

    @Override
    public Map<String, String> start() {
        FakeReplicate started = FakeReplicate.start(delay);
        started.requireToken(FakeReplicate.TEST_TOKEN);
        fake = started;
        Map<String, String> config = new HashMap<>();
        config.put("imagegen.replicate.base-url", started.baseUrl());
        config.put("imagegen.replicate.api-token", FakeReplicate.TEST_TOKEN);
        config.put("imagegen.replicate.allowed-output-hosts", "127.0.0.1,localhost");
        if (webhooks) {
            config.put("imagegen.replicate.webhook-secret", started.webhookSecret());
        }
        return config;
    }

    @Override
    public void stop() {
        FakeReplicate f = fake;
        fake = null;
        if (f != null) {
            f.close();
        }
    }

    @Override
    public void inject(TestInjector testInjector) {
        testInjector.injectIntoFields(fake, new TestInjector.AnnotatedAndMatchesType(InjectFakeReplicate.class, FakeReplicate.class));
    }

    /** The running fake. */
    public static FakeReplicate fake() {
        FakeReplicate f = fake;
        if (f == null) {
            throw new IllegalStateException("FakeReplicateResource is not started: annotate the test with "
                    + "@QuarkusTestResource(FakeReplicateResource.class)");
        }
        return f;
    }
}
