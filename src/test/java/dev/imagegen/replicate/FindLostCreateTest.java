package dev.imagegen.replicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.vertx.core.json.JsonObject;

import dev.imagegen.simulator.Route;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;

/** The lookup of a lost create: by marker only, across pages, never a dead or unmarked prediction. */
@QuarkusTest
class FindLostCreateTest {

    @Inject
    ReplicateClient client;

    @InjectFakeReplicate
    FakeReplicate replicate;

    final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void clean() {
        replicate.reset();
    }

    /** Creates a prediction at the fake directly; {@code webhook} null sends none. */
    String create(String prompt, String webhook) throws Exception {
        JsonObject body = new JsonObject().put("input", new JsonObject().put("prompt", prompt).put("seed", 7));
        if (webhook != null) {
            body.put("webhook", webhook).put("webhook_events_filter", new io.vertx.core.json.JsonArray().add("completed"));
        }
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                URI.create(replicate.apiUrl() + "/models/black-forest-labs/flux-schnell/predictions"))
                .header("Authorization", "Bearer " + FakeReplicate.TEST_TOKEN).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.encode())).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, r.statusCode(), r.body());
        return new JsonObject(r.body()).getString("id");
    }

    @Test
    void findsTheMarkedPredictionBeyondTheFirstPageAndNothingElse() throws Exception {
        Instant start = Instant.now().minusSeconds(1);
        UUID job = UUID.randomUUID();
        String sink = replicate.webhookSinkUrl();
        String ours = create("same prompt", new CreateMarker(job, 1).addTo(sink));
        String canceled = create("same prompt", new CreateMarker(job, 2).addTo(sink));
        // Canceled while running, or (if it already succeeded) its outputs expired: either way it cannot deliver.
        replicate.simulator().expireOutputs(canceled);
        http.send(HttpRequest.newBuilder(URI.create(replicate.apiUrl() + "/predictions/" + canceled + "/cancel"))
                .header("Authorization", "Bearer " + FakeReplicate.TEST_TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        create("same prompt", new CreateMarker(UUID.randomUUID(), 1).addTo(sink)); // another job's
        for (int i = 0; i < 120; i++) {
            create("same prompt", null); // unmarked: never a candidate, and pushes ours to page 2
        }

        List<Prediction> found = client.findCreatedSince(start, m -> m.jobId().equals(job)).await().atMost(Duration.ofSeconds(30));

        assertEquals(List.of(ours), found.stream().map(Prediction::id).toList());
        assertEquals(2, replicate.calls(Route.LIST), "paged once through next");
        assertEquals(Optional.of(new CreateMarker(job, 1)), found.get(0).marker());
    }

    @Test
    void markersRoundTripThroughTheWebhookUrl() {
        UUID job = UUID.randomUUID();
        String url = new CreateMarker(job, 3).addTo("https://example.org/v1/webhooks/replicate");
        assertEquals("https://example.org/v1/webhooks/replicate?job=" + job + "&attempt=3", url);
        assertEquals(Optional.of(new CreateMarker(job, 3)), CreateMarker.of(url));
        assertEquals(Optional.empty(), CreateMarker.of("https://example.org/v1/webhooks/replicate"));
        assertEquals(Optional.empty(), CreateMarker.of("https://example.org/hook?job=not-a-uuid&attempt=1"));
        assertEquals(Optional.empty(), CreateMarker.of(null));
        assertTrue(CreateMarker.of(new CreateMarker(job, 1).addTo("https://example.org/hook?x=1")).isPresent());
        assertEquals("abc=", ReplicateClient.cursor("https://api.replicate.com/v1/predictions?cursor=abc%3D"));
        assertNull(ReplicateClient.cursor(null));
    }
}
