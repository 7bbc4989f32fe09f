package dev.imagegen.generation;

import java.time.Duration;
import java.util.Map;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.ProblemType;

/**
 * An event stream refused because a cap is reached: the user's ({@code imagegen.limits.max-streams-per-user},
 * answered 429) or this replica's ({@code imagegen.limits.max-streams-per-replica}, answered 503 so that a
 * client or load balancer tries another replica). Both carry {@code Retry-After}: a domain failure that
 * the global exception mappers answer as problem+json, like any other.
 */
public class StreamLimitException extends ApiException {

    /** Which cap refused the stream; also the {@code reason} tag of the refused-streams counter. */
    public enum Cap {
        USER("user_limit", 429), REPLICA("replica_limit", 503);

        public final String tag;
        public final int status;

        Cap(String tag, int status) {
            this.tag = tag;
            this.status = status;
        }
    }

    private final Cap cap;
    private final Duration retryAfter;

    public StreamLimitException(Cap cap, String detail, Duration retryAfter) {
        super(cap.status == 429 ? ProblemType.TOO_MANY_REQUESTS : ProblemType.UNAVAILABLE, detail, null,
                Map.of("Retry-After", String.valueOf(Math.max(1, retryAfter.toSeconds()))));
        this.cap = cap;
        this.retryAfter = retryAfter;
    }

    public Cap cap() {
        return cap;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
