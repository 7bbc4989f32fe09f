package dev.imagegen.config;

import java.util.List;
import java.util.OptionalInt;

import org.eclipse.microprofile.config.spi.ConfigSource;

import io.quarkus.runtime.LaunchMode;
import io.smallrye.config.ConfigSourceContext;
import io.smallrye.config.ConfigSourceFactory;
import io.smallrye.config.ConfigValue;
import io.smallrye.config.PropertiesConfigSource;

/**
 * Dev mode only: gives {@code ./mvnw quarkus:dev} a real PostgreSQL without any setup, by supplying
 * {@code quarkus.datasource.jdbc.url}, {@code quarkus.datasource.reactive.url} and
 * {@code quarkus.datasource.username} before the datasources and Flyway read them. See {@link DevDatabase}
 * for the order in which a server is found.
 * <p>
 * Registered through {@code META-INF/services/io.smallrye.config.ConfigSourceFactory}. In any other launch
 * mode or profile (prod, test, the build of a prod jar) it returns no source and touches nothing; it also
 * steps aside when a datasource URL is already configured anywhere (environment, system property,
 * {@code .env}, {@code application.properties}).
 */
public class DevDatabaseConfigSourceFactory implements ConfigSourceFactory {

    /** Below environment variables (300), {@code .env} (295) and {@code config/application.properties} (260). */
    static final int ORDINAL = 255;

    private static final String JDBC_URL = "quarkus.datasource.jdbc.url";
    private static final String REACTIVE_URL = "quarkus.datasource.reactive.url";

    @Override
    public Iterable<ConfigSource> getConfigSources(ConfigSourceContext context) {
        if (!isDevMode(context.getProfiles()) || configured(context, JDBC_URL) || configured(context, REACTIVE_URL)) {
            return List.of();
        }
        DevDatabase.Target target = DevDatabase.locate();
        return List.of(new PropertiesConfigSource(target.properties(), "DevDatabase (" + target.description() + ")", ORDINAL));
    }

    @Override
    public OptionalInt getPriority() {
        return OptionalInt.of(ORDINAL);
    }

    /** The dev profile is active and Quarkus runs in dev mode: never a prod jar, a test, or the build of a prod jar. */
    static boolean isDevMode(List<String> profiles) {
        return profiles.contains(LaunchMode.DEV_PROFILE) && LaunchMode.current() == LaunchMode.DEVELOPMENT;
    }

    private static boolean configured(ConfigSourceContext context, String name) {
        ConfigValue value = context.getValue(name);
        return value != null && value.getValue() != null && !value.getValue().isBlank();
    }
}
