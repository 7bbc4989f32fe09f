package dev.imagegen.config;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * Classes that libraries instantiate by name at run time, registered for a native image the Quarkus way (issue
 * #13). The application's own JSON types carry {@code @RegisterForReflection} themselves.
 * <ul>
 * <li>{@code quarkus.jackson.property-naming-strategy=SNAKE_CASE}: the Jackson extension loads the strategy's
 * class by name when it builds the {@code ObjectMapper} (without this, the native executable failed at start
 * with {@code ClassNotFoundException: PropertyNamingStrategies$SnakeCaseStrategy}). Change both together.</li>
 * </ul>
 * NativeReadinessTest checks that the configured strategy is registered here.
 */
@RegisterForReflection(targets = PropertyNamingStrategies.SnakeCaseStrategy.class)
public final class NativeReflection {

    private NativeReflection() {
    }
}
