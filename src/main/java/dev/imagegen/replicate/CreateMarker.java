package dev.imagegen.replicate;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Optional;
import java.util.UUID;

/**
 * Which job attempt sent a create request, carried in the webhook URL's query
 * ({@code …/v1/webhooks/replicate?job=<uuid>&attempt=<n>}), as Replicate's webhook guide suggests for
 * metadata. Replicate echoes the URL as {@code webhook} in every prediction it lists, so a create whose
 * answer was lost is found again by this marker alone, never by comparing prompts (two users may send
 * the same prompt and seed).
 *
 * <p>Only the webhook URL is echoed by the list endpoint and can carry a marker: nothing is added to the
 * model's {@code input} (unknown inputs are the model's business and may be refused or billed).
 */
public record CreateMarker(UUID jobId, int attempt) {

    static final String JOB = "job";
    static final String ATTEMPT = "attempt";

    /** {@code webhookUrl} with this marker appended to its query. */
    public String addTo(String webhookUrl) {
        return webhookUrl + (webhookUrl.indexOf('?') >= 0 ? "&" : "?") + JOB + "=" + jobId + "&" + ATTEMPT + "=" + attempt;
    }

    /** The marker of an echoed webhook URL; empty when there is none or it is malformed. */
    public static Optional<CreateMarker> of(String webhookUrl) {
        if (webhookUrl == null || webhookUrl.isBlank()) {
            return Optional.empty();
        }
        String query;
        try {
            query = new URI(webhookUrl.strip()).getRawQuery();
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
        if (query == null) {
            return Optional.empty();
        }
        String job = null;
        String attempt = null;
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                continue;
            }
            String name = pair.substring(0, eq);
            if (JOB.equals(name)) {
                job = pair.substring(eq + 1);
            } else if (ATTEMPT.equals(name)) {
                attempt = pair.substring(eq + 1);
            }
        }
        try {
            return job == null || attempt == null ? Optional.empty()
                    : Optional.of(new CreateMarker(UUID.fromString(job), Integer.parseInt(attempt)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
