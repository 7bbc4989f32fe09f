package dev.imagegen.simulator;

/** The routes the simulator serves; faults and counters are kept per route. */
public enum Route {
    /** {@code POST /v1/models/{owner}/{name}/predictions} and {@code POST /v1/predictions}. */
    CREATE,
    /** {@code GET /v1/predictions/{id}}. */
    GET,
    /** {@code GET /v1/predictions}. */
    LIST,
    /** {@code POST /v1/predictions/{id}/cancel}. */
    CANCEL,
    /** {@code GET|HEAD /files/{id}/out-{i}.{ext}}: output file downloads (no {@code /v1}, no auth). */
    FILE,
    /** {@code GET /v1/webhooks/default/secret}. */
    WEBHOOK_SECRET
}
