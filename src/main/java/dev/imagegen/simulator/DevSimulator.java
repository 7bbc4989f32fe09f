package dev.imagegen.simulator;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.quarkus.arc.profile.IfBuildProfile;
import io.vertx.ext.web.Router;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.replicate.ReplicateClient;

/**
 * Mounts the built-in Replicate simulator under {@code /simulator/replicate} when it stands in for
 * Replicate: dev mode without a {@code REPLICATE_API_TOKEN} ({@link ReplicateClient#simulated()}).
 * <p>
 * The bean exists in the {@code dev} build profile only: a {@code prod} (or {@code test}) build leaves it out
 * at build time, so nothing in a packaged application (jar or native executable) reaches the simulator's
 * classes, whatever the configuration says at run time.
 */
@IfBuildProfile("dev")
@ApplicationScoped
public class DevSimulator {

    private static final Logger LOG = Logger.getLogger(DevSimulator.class);

    public static final String PREFIX = "/simulator/replicate";

    @Inject
    ReplicateClient client;

    @Inject
    ImagegenConfig config;

    @Inject
    io.vertx.core.Vertx vertx;

    void mount(@Observes Router router) {
        if (!client.simulated()) {
            return;
        }
        String base = client.baseUrl().substring(0, client.baseUrl().length() - PREFIX.length());
        ReplicateSimulator simulator = new ReplicateSimulator(vertx, base, config.replicate().simulatorDelay());
        config.replicate().webhookSecret().ifPresent(simulator::webhookSecret);
        simulator.mount(router, PREFIX);
        LOG.infof("No REPLICATE_API_TOKEN: the built-in Replicate simulator answers at %s (it draws real PNG images)",
                client.baseUrl());
    }
}
