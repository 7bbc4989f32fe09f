package dev.imagegen.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.metrics.Metrics;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import io.smallrye.config.WithParentName;

/**
 * Static checks of the deployment artefacts: the Kubernetes manifests under {@code k8s/} and the
 * Dockerfiles under {@code src/main/docker/}. Plain JUnit: no cluster, no Docker, no Quarkus.
 *
 * <p>Core kinds are read into fabric8's model classes with Jackson's any-setter switched off and
 * {@code FAIL_ON_UNKNOWN_PROPERTIES} on, so a misspelled or misplaced field fails instead of
 * landing silently in {@code additionalProperties}. Custom resources (ServiceMonitor,
 * PrometheusRule, ScaledObject, TriggerAuthentication) are checked field by field.
 *
 * <p>Each kustomization is also rendered in a simplified way (resources, then patches: objects
 * merged, lists of named items merged by name for built-in kinds, other lists replaced, as
 * kustomize does for custom resources) so that the checks see what an overlay really deploys.
 */
class KubernetesManifestsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path K8S = ROOT.resolve("k8s");
    private static final Path DOCKER = ROOT.resolve("src/main/docker");
    private static final Path SECRET_TEMPLATE = K8S.resolve("base/secret.example.yaml");

    /** Files of k8s/base that the base does not apply on purpose (documented in its kustomization.yaml). */
    private static final Set<String> NOT_APPLIED = Set.of("secret.example.yaml", "hpa.yaml");

    private static final Set<String> HEALTH_PATHS = Set.of("/q/health/live", "/q/health/ready", "/q/health/started");
    private static final String METRICS_PATH = "/q/metrics";

    /** Variables the service reads that do not come from ImagegenConfig. */
    private static final Set<String> EXPLICIT_ENV = Set.of("REPLICATE_API_TOKEN", "QUARKUS_HTTP_PORT",
            "QUARKUS_DATASOURCE_REACTIVE_URL", "QUARKUS_DATASOURCE_JDBC_URL", "QUARKUS_DATASOURCE_USERNAME",
            "QUARKUS_DATASOURCE_PASSWORD", "QUARKUS_SHUTDOWN_DELAY");
    private static final Pattern EXPLICIT_ENV_PATTERN = Pattern.compile("QUARKUS_LOG_[A-Z0-9_]+|AWS_[A-Z0-9_]+|JAVA_OPTS[A-Z0-9_]*");

    private static final Set<String> KUSTOMIZATION_KEYS = Set.of("apiVersion", "kind", "resources", "components",
            "patches", "images", "namespace", "namePrefix", "nameSuffix", "labels", "commonAnnotations",
            "configMapGenerator", "secretGenerator", "generatorOptions", "replicas");

    private static final Map<String, Class<?>> TYPED_KINDS = Map.of(
            "v1/ConfigMap", ConfigMap.class,
            "v1/Secret", Secret.class,
            "v1/Service", Service.class,
            "v1/Namespace", Namespace.class,
            "apps/v1/Deployment", Deployment.class,
            "policy/v1/PodDisruptionBudget", PodDisruptionBudget.class,
            "networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class,
            "autoscaling/v2/HorizontalPodAutoscaler", HorizontalPodAutoscaler.class);
    private static final Set<String> CUSTOM_KINDS = Set.of(
            "monitoring.coreos.com/v1/ServiceMonitor",
            "monitoring.coreos.com/v1/PrometheusRule",
            "keda.sh/v1alpha1/ScaledObject",
            "keda.sh/v1alpha1/TriggerAuthentication");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper STRICT = strictMapper();

    // ---------------------------------------------------------------------------------------------
    // Loading

    /** One YAML document of one file. */
    record Doc(Path file, int index, ObjectNode node) {
        String apiVersion() {
            return node.path("apiVersion").asText("");
        }

        String kind() {
            return node.path("kind").asText("");
        }

        String name() {
            return node.path("metadata").path("name").asText("");
        }

        String type() {
            return apiVersion() + "/" + kind();
        }

        String where() {
            return ROOT.relativize(file) + (index > 0 ? " (document " + (index + 1) + ")" : "");
        }

        Doc copy() {
            return new Doc(file, index, node.deepCopy());
        }
    }

    /** Jackson over fabric8's models with every {@code @JsonAnySetter} ignored: unknown fields fail. */
    private static ObjectMapper strictMapper() {
        ObjectMapper mapper = new ObjectMapper(new YAMLFactory());
        mapper.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        mapper.setAnnotationIntrospector(new JacksonAnnotationIntrospector() {
            @Override
            public Boolean hasAnySetter(Annotated a) {
                return Boolean.FALSE;
            }
        });
        return mapper;
    }

    private static List<Doc> read(Path file) {
        List<Doc> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            int index = 0;
            while (it.hasNext()) {
                JsonNode node = it.next();
                if (node != null && !node.isNull() && !node.isMissingNode()) {
                    assertTrue(node.isObject(), file + ": document " + (index + 1) + " is not a mapping");
                    docs.add(new Doc(file, index, (ObjectNode) node));
                }
                index++;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return docs;
    }

    private static List<Path> yamlFiles(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile)
                    .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .sorted().collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isKustomization(Path file) {
        return file.getFileName().toString().equals("kustomization.yaml");
    }

    private static List<Doc> manifests() {
        return yamlFiles(K8S).stream().filter(f -> !isKustomization(f))
                .flatMap(f -> read(f).stream()).collect(Collectors.toList());
    }

    static Stream<Path> layers() {
        return yamlFiles(K8S).stream().filter(KubernetesManifestsTest::isKustomization).map(Path::getParent);
    }

    private static <T> T typed(JsonNode node, Class<T> type) {
        try {
            return STRICT.treeToValue(node, type);
        } catch (IOException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Simplified kustomize rendering

    private static ObjectNode kustomization(Path dir) {
        List<Doc> docs = read(dir.resolve("kustomization.yaml"));
        assertEquals(1, docs.size(), dir + "/kustomization.yaml must hold one document");
        return docs.get(0).node();
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static List<String> patchPaths(ObjectNode kustomization) {
        List<String> out = new ArrayList<>();
        for (JsonNode patch : kustomization.path("patches")) {
            assertTrue(patch.has("path") ^ patch.has("patch"), "a patch is a `path:` or an inline `patch:`: " + patch);
            assertFalse(patch.has("target"), "patches here select their target by kind and name: " + patch);
            if (patch.has("path")) {
                out.add(patch.get("path").asText());
            }
        }
        return out;
    }

    /** The documents of every patch of a kustomization, files and inline ones. */
    private static List<Doc> patches(Path dir, ObjectNode kustomization) {
        List<Doc> out = new ArrayList<>();
        for (JsonNode patch : kustomization.path("patches")) {
            if (patch.has("path")) {
                out.addAll(read(dir.resolve(patch.get("path").asText())));
            } else {
                try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(patch.get("patch").asText())) {
                    while (it.hasNext()) {
                        out.add(new Doc(dir.resolve("kustomization.yaml"), 0, (ObjectNode) it.next()));
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return out;
    }

    /** The documents a kustomization folder produces, patches applied. */
    private static List<Doc> render(Path dir) {
        ObjectNode k = kustomization(dir);
        List<Doc> out = new ArrayList<>();
        for (String resource : strings(k.path("resources"))) {
            Path p = dir.resolve(resource).normalize();
            if (Files.isDirectory(p)) {
                out.addAll(render(p));
            } else {
                read(p).forEach(d -> out.add(d.copy()));
            }
        }
        for (Doc patch : patches(dir, k)) {
            Doc target = out.stream()
                    .filter(d -> d.kind().equals(patch.kind()) && d.name().equals(patch.name()))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError(patch.where() + " patches " + patch.kind() + "/"
                            + patch.name() + ", which " + dir + " does not otherwise contain"));
            if ("delete".equals(patch.node().path("$patch").asText())) {
                out.remove(target);
            } else {
                merge(target.node(), patch.node(), TYPED_KINDS.containsKey(patch.type()));
            }
        }
        return out;
    }

    private static void merge(ObjectNode target, JsonNode patch, boolean strategic) {
        Iterator<Map.Entry<String, JsonNode>> fields = patch.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            JsonNode current = target.get(f.getKey());
            JsonNode value = f.getValue();
            if (current instanceof ObjectNode o && value.isObject()) {
                merge(o, value, strategic);
            } else if (strategic && current instanceof ArrayNode a && value.isArray() && named(a) && named(value)) {
                for (JsonNode item : value) {
                    ObjectNode same = null;
                    for (JsonNode existing : a) {
                        if (existing.get("name").asText().equals(item.get("name").asText())) {
                            same = (ObjectNode) existing;
                        }
                    }
                    if (same == null) {
                        a.add(item.deepCopy());
                    } else {
                        merge(same, item, true);
                    }
                }
            } else {
                target.set(f.getKey(), value.deepCopy());
            }
        }
    }

    private static boolean named(JsonNode array) {
        for (JsonNode item : array) {
            if (!item.isObject() || !item.has("name")) {
                return false;
            }
        }
        return true;
    }

    private static List<Doc> ofKind(List<Doc> docs, String kind) {
        return docs.stream().filter(d -> d.kind().equals(kind)).collect(Collectors.toList());
    }

    private static Doc single(List<Doc> docs, String kind) {
        List<Doc> found = ofKind(docs, kind);
        assertEquals(1, found.size(), "expected exactly one " + kind + ", found " + found.size());
        return found.get(0);
    }

    // ---------------------------------------------------------------------------------------------
    // What the service reads and exports

    /**
     * Every environment variable the service reads: each leaf of the {@code @ConfigMapping} in
     * {@link ImagegenConfig} ({@code @WithName} or the kebab-cased method name, below its groups'
     * names) in environment form, plus {@link #EXPLICIT_ENV}.
     */
    static Set<String> imagegenEnvNames() {
        String prefix = ImagegenConfig.class.getAnnotation(ConfigMapping.class).prefix();
        Set<String> out = new TreeSet<>();
        collect(ImagegenConfig.class, prefix, out);
        return out;
    }

    private static void collect(Class<?> group, String prefix, Set<String> out) {
        for (Method m : group.getMethods()) {
            if (m.isDefault() || Modifier.isStatic(m.getModifiers()) || m.getParameterCount() > 0
                    || m.getDeclaringClass() == Object.class) {
                continue;
            }
            String key = m.isAnnotationPresent(WithParentName.class) ? prefix
                    : prefix + "." + (m.isAnnotationPresent(WithName.class) ? m.getAnnotation(WithName.class).value()
                            : kebab(m.getName()));
            Class<?> nested = configGroup(m.getGenericReturnType());
            if (nested != null) {
                collect(nested, key, out);
            } else {
                out.add(toEnv(key));
            }
        }
    }

    /** The config group a method returns (itself, or wrapped in an Optional), or null for a leaf. */
    private static Class<?> configGroup(Type type) {
        if (type instanceof Class<?> c) {
            return c.isInterface() && !c.getName().startsWith("java.") ? c : null;
        }
        if (type instanceof ParameterizedType p && p.getRawType() == Optional.class) {
            return configGroup(p.getActualTypeArguments()[0]);
        }
        return null;
    }

    private static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

    /** MicroProfile Config's environment form of a property name. */
    private static String toEnv(String key) {
        return key.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }

    private static boolean serviceReads(String env) {
        return EXPLICIT_ENV.contains(env) || EXPLICIT_ENV_PATTERN.matcher(env).matches()
                || imagegenEnvNames().contains(env);
    }

    /** The default of a config leaf, read from its {@code @WithDefault}. */
    private static String configDefault(Class<?> group, String method) {
        try {
            WithDefault d = group.getMethod(method).getAnnotation(WithDefault.class);
            assertNotNull(d, group.getSimpleName() + "." + method + " has no @WithDefault");
            return d.value();
        } catch (NoSuchMethodException e) {
            throw new AssertionError(e);
        }
    }

    /** Quarkus' duration format: ISO-8601, or a number with ms, s, m, h or d (a bare number is seconds). */
    private static Duration duration(String text) {
        String t = text.trim();
        if (t.toUpperCase(Locale.ROOT).startsWith("P")) {
            return Duration.parse(t);
        }
        Matcher m = Pattern.compile("(\\d+)(ms|s|m|h|d)?").matcher(t);
        assertTrue(m.matches(), "not a duration: " + text);
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
    }

    /** Every Prometheus series name the service can export, from the meter names in {@link Metrics}. */
    private static Set<String> exportedSeries() throws IllegalAccessException {
        Set<String> out = new TreeSet<>();
        for (Field f : Metrics.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
                String base = ((String) f.get(null)).replace('.', '_');
                for (String suffix : List.of("", "_total", "_count", "_sum", "_max", "_bucket", "_seconds_count",
                        "_seconds_sum", "_seconds_max", "_seconds_bucket")) {
                    out.add(base + suffix);
                }
            }
        }
        return out;
    }

    private static Map<String, String> secretTemplateKeys() {
        Secret secret = typed(single(read(SECRET_TEMPLATE), "Secret").node(), Secret.class);
        Map<String, String> keys = new LinkedHashMap<>();
        if (secret.getStringData() != null) {
            keys.putAll(secret.getStringData());
        }
        if (secret.getData() != null) {
            keys.putAll(secret.getData());
        }
        return keys;
    }

    // ---------------------------------------------------------------------------------------------
    // Every file

    @Test
    void everyManifestIsAKnownKindAndCoreKindsHaveNoUnknownField() {
        List<String> problems = new ArrayList<>();
        List<Doc> docs = manifests();
        assertFalse(docs.isEmpty(), "no manifest under " + K8S);
        for (Doc doc : docs) {
            if (doc.apiVersion().isBlank() || doc.kind().isBlank() || doc.name().isBlank()) {
                problems.add(doc.where() + ": apiVersion, kind and metadata.name are required");
            } else if (TYPED_KINDS.containsKey(doc.type())) {
                try {
                    typed(doc.node(), TYPED_KINDS.get(doc.type()));
                } catch (AssertionError e) {
                    problems.add(doc.where() + ": " + e.getMessage());
                }
            } else if (!CUSTOM_KINDS.contains(doc.type())) {
                problems.add(doc.where() + ": unexpected " + doc.type() + " (add it to the test's known kinds)");
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void strictReadingRejectsAMisspelledField() {
        String yaml = """
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: typo
                spec:
                  template:
                    spec:
                      containers:
                        - name: app
                          readinesProbe:
                            httpGet:
                              path: /q/health/ready
                """;
        AssertionError e = assertThrows(AssertionError.class, () -> {
            try {
                typed(YAML.readTree(yaml), Deployment.class);
            } catch (IOException io) {
                throw new UncheckedIOException(io);
            }
        });
        assertTrue(e.getMessage().contains("readinesProbe"), e.getMessage());
    }

    @Test
    void kustomizationsListExistingFilesAndEveryManifestIsAccountedFor() {
        List<Path> layers = layers().collect(Collectors.toList());
        assertTrue(layers.contains(K8S.resolve("base")), "k8s/base/kustomization.yaml is missing");
        assertTrue(layers.contains(K8S.resolve("overlays/production")),
                "k8s/overlays/production/kustomization.yaml is missing");
        Set<Path> referenced = new LinkedHashSet<>();
        for (Path dir : layers) {
            ObjectNode k = kustomization(dir);
            assertEquals("kustomize.config.k8s.io/v1beta1", k.path("apiVersion").asText(), dir + " apiVersion");
            assertEquals("Kustomization", k.path("kind").asText(), dir + " kind");
            k.fieldNames().forEachRemaining(key -> assertTrue(KUSTOMIZATION_KEYS.contains(key),
                    dir.resolve("kustomization.yaml") + ": unexpected or deprecated field `" + key + "`"));
            List<String> entries = new ArrayList<>(strings(k.path("resources")));
            entries.addAll(patchPaths(k));
            for (String entry : entries) {
                Path p = dir.resolve(entry).normalize();
                assertTrue(Files.isRegularFile(p) || Files.isRegularFile(p.resolve("kustomization.yaml")),
                        dir.resolve("kustomization.yaml") + " lists " + entry + ", which does not exist");
                assertFalse(p.getFileName().toString().equals("secret.example.yaml"),
                        dir.resolve("kustomization.yaml") + " must not apply the Secret template");
                assertFalse(dir.equals(K8S.resolve("base")) && NOT_APPLIED.contains(p.getFileName().toString()),
                        dir.resolve("kustomization.yaml") + " must not apply " + entry + " (see its header)");
                referenced.add(p);
            }
            // Rendering also proves that every patch targets a resource of the layer.
            List<Doc> rendered = render(dir);
            assertTrue(ofKind(rendered, "Secret").isEmpty(), dir + " must not deploy a Secret: it is created by hand");
        }
        for (Path file : yamlFiles(K8S)) {
            boolean exempt = file.getParent().equals(K8S.resolve("base"))
                    && NOT_APPLIED.contains(file.getFileName().toString());
            if (!isKustomization(file) && !exempt) {
                assertTrue(referenced.contains(file), ROOT.relativize(file) + " is listed in no kustomization.yaml");
            }
        }
    }

    @Test
    void secretTemplateHoldsPlaceholdersOnly() {
        Map<String, String> keys = secretTemplateKeys();
        assertFalse(keys.isEmpty(), "secret.example.yaml has no keys");
        keys.forEach((key, value) -> {
            assertTrue(serviceReads(key), "secret.example.yaml: the service does not read " + key);
            assertTrue(value.contains("CHANGE-ME") || key.endsWith("_USERNAME"),
                    "secret.example.yaml: " + key + " must be a CHANGE-ME placeholder, never a real value");
        });
    }

    @Test
    void envAllowlistIsDerivedFromImagegenConfig() {
        Set<String> names = imagegenEnvNames();
        assertTrue(names.containsAll(Set.of("IMAGEGEN_PUBLIC_BASE_URL", "IMAGEGEN_WORKER_MAX_PARALLEL_JOBS",
                "IMAGEGEN_WORKER_LEASE", "IMAGEGEN_WORKER_SHUTDOWN_GRACE", "IMAGEGEN_STORAGE_BACKEND",
                "IMAGEGEN_STORAGE_DIR", "IMAGEGEN_AUTH_JWT_SECRET", "IMAGEGEN_REPLICATE_SIMULATOR_ENABLED",
                "IMAGEGEN_REPLICATE_WEBHOOK_SECRET", "IMAGEGEN_DOWNLOAD_MAX_BYTES")), names.toString());
        assertFalse(names.contains("IMAGEGEN_WORKER"), "groups are not variables");
        assertFalse(serviceReads("IMAGEGEN_WORKER_MAX_PARALLEL"), "near misses are not read");
        assertTrue(serviceReads("REPLICATE_API_TOKEN") && serviceReads("QUARKUS_LOG_LEVEL") && serviceReads("AWS_REGION"));
        assertFalse(serviceReads("QUARKUS_DATASOURCE_URL"));
    }

    // ---------------------------------------------------------------------------------------------
    // Each layer as deployed

    @ParameterizedTest
    @MethodSource("layers")
    void deploymentSetsOnlyVariablesTheServiceReads(Path layer) {
        List<Doc> docs = render(layer);
        Deployment deployment = typed(single(docs, "Deployment").node(), Deployment.class);
        Map<String, String> secretKeys = secretTemplateKeys();
        List<String> problems = new ArrayList<>();
        for (Container c : deployment.getSpec().getTemplate().getSpec().getContainers()) {
            for (EnvVar env : c.getEnv()) {
                if (!serviceReads(env.getName())) {
                    problems.add("env " + env.getName());
                }
                if (env.getValueFrom() != null && env.getValueFrom().getSecretKeyRef() != null) {
                    String key = env.getValueFrom().getSecretKeyRef().getKey();
                    if (!secretKeys.containsKey(key)) {
                        problems.add("env " + env.getName() + " reads Secret key " + key + ", missing from secret.example.yaml");
                    }
                }
                if (env.getValueFrom() != null && env.getValueFrom().getConfigMapKeyRef() != null) {
                    problems.add("env " + env.getName() + ": use envFrom for the ConfigMap");
                }
            }
            for (EnvFromSource from : c.getEnvFrom()) {
                if (from.getPrefix() != null && !from.getPrefix().isEmpty()) {
                    problems.add("envFrom with a prefix");
                }
                if (from.getSecretRef() != null) {
                    problems.add("envFrom a Secret: name each secret variable with secretKeyRef instead");
                }
                if (from.getConfigMapRef() != null) {
                    String name = from.getConfigMapRef().getName();
                    List<Doc> maps = ofKind(docs, "ConfigMap").stream().filter(d -> d.name().equals(name))
                            .collect(Collectors.toList());
                    assertEquals(1, maps.size(), layer + ": ConfigMap " + name + " is not deployed");
                    ConfigMap map = typed(maps.get(0).node(), ConfigMap.class);
                    map.getData().keySet().stream().filter(k -> !serviceReads(k))
                            .forEach(k -> problems.add("ConfigMap " + name + " key " + k));
                }
            }
        }
        assertTrue(problems.isEmpty(), layer + ": the service does not read these:\n" + String.join("\n", problems));
    }

    @ParameterizedTest
    @MethodSource("layers")
    void probesUseTheHealthEndpointsTheServiceServes(Path layer) {
        Deployment deployment = typed(single(render(layer), "Deployment").node(), Deployment.class);
        for (Container c : deployment.getSpec().getTemplate().getSpec().getContainers()) {
            assertProbe(c, "startupProbe", c.getStartupProbe(), "/q/health/started");
            assertProbe(c, "livenessProbe", c.getLivenessProbe(), "/q/health/live");
            assertProbe(c, "readinessProbe", c.getReadinessProbe(), "/q/health/ready");
        }
    }

    private static void assertProbe(Container c, String which, Probe probe, String expectedPath) {
        assertNotNull(probe, c.getName() + " has no " + which);
        HTTPGetAction get = probe.getHttpGet();
        assertNotNull(get, c.getName() + " " + which + " must be an httpGet probe");
        assertTrue(HEALTH_PATHS.contains(get.getPath()), c.getName() + " " + which + " probes " + get.getPath()
                + ", which the service does not serve (only " + HEALTH_PATHS + ")");
        assertEquals(expectedPath, get.getPath(), c.getName() + " " + which);
        assertTrue(isContainerPort(c, get.getPort()), c.getName() + " " + which + " port " + get.getPort()
                + " is not a port of the container");
    }

    private static boolean isContainerPort(Container c, IntOrString port) {
        for (ContainerPort p : c.getPorts()) {
            if (port.getStrVal() != null ? port.getStrVal().equals(p.getName())
                    : port.getIntVal().equals(p.getContainerPort())) {
                return true;
            }
        }
        return false;
    }

    @ParameterizedTest
    @MethodSource("layers")
    void podRunsAsNonRootOnAReadOnlyRootFilesystem(Path layer) {
        List<Doc> docs = render(layer);
        PodSpec pod = typed(single(docs, "Deployment").node(), Deployment.class).getSpec().getTemplate().getSpec();
        PodSecurityContext podSecurity = pod.getSecurityContext();
        Map<String, String> config = configMapData(docs);
        for (Container c : pod.getContainers()) {
            SecurityContext sc = c.getSecurityContext();
            assertNotNull(sc, c.getName() + " has no securityContext");
            Boolean nonRoot = sc.getRunAsNonRoot() != null ? sc.getRunAsNonRoot()
                    : podSecurity == null ? null : podSecurity.getRunAsNonRoot();
            assertEquals(Boolean.TRUE, nonRoot, c.getName() + ": runAsNonRoot must be true");
            Long uid = sc.getRunAsUser() != null ? sc.getRunAsUser() : podSecurity == null ? null : podSecurity.getRunAsUser();
            assertTrue(uid == null || uid != 0L, c.getName() + ": runAsUser 0");
            assertEquals(Boolean.TRUE, sc.getReadOnlyRootFilesystem(), c.getName() + ": readOnlyRootFilesystem must be true");
            assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation(), c.getName() + ": allowPrivilegeEscalation must be false");
            assertTrue(sc.getCapabilities() != null && sc.getCapabilities().getDrop().contains("ALL"),
                    c.getName() + ": drop ALL capabilities");
            Set<String> mounts = c.getVolumeMounts().stream().map(VolumeMount::getMountPath).collect(Collectors.toSet());
            assertTrue(mounts.contains("/tmp"), c.getName() + ": a read-only root needs a volume at /tmp");
            if ("filesystem".equals(config.getOrDefault("IMAGEGEN_STORAGE_BACKEND",
                    configDefault(ImagegenConfig.Storage.class, "backend")))) {
                String dir = config.get("IMAGEGEN_STORAGE_DIR");
                assertNotNull(dir, layer + ": filesystem storage on a read-only root needs IMAGEGEN_STORAGE_DIR on a volume");
                assertTrue(mounts.stream().anyMatch(m -> dir.equals(m) || dir.startsWith(m + "/")),
                        c.getName() + ": IMAGEGEN_STORAGE_DIR " + dir + " is on no volume");
            }
        }
    }

    private static Map<String, String> configMapData(List<Doc> docs) {
        Map<String, String> data = new LinkedHashMap<>();
        for (Doc d : ofKind(docs, "ConfigMap")) {
            ConfigMap map = typed(d.node(), ConfigMap.class);
            if (map.getData() != null) {
                data.putAll(map.getData());
            }
        }
        return data;
    }

    @ParameterizedTest
    @MethodSource("layers")
    void terminationGracePeriodCoversTheWorkerShutdownGrace(Path layer) {
        List<Doc> docs = render(layer);
        PodSpec pod = typed(single(docs, "Deployment").node(), Deployment.class).getSpec().getTemplate().getSpec();
        Duration defaultGrace = duration(configDefault(ImagegenConfig.Worker.class, "shutdownGrace"));
        Duration grace = Optional.ofNullable(configMapData(docs).get("IMAGEGEN_WORKER_SHUTDOWN_GRACE"))
                .map(KubernetesManifestsTest::duration).orElse(defaultGrace);
        long preStop = 0;
        for (Container c : pod.getContainers()) {
            if (c.getLifecycle() != null && c.getLifecycle().getPreStop() != null
                    && c.getLifecycle().getPreStop().getSleep() != null) {
                preStop = Math.max(preStop, c.getLifecycle().getPreStop().getSleep().getSeconds());
            }
        }
        Long period = pod.getTerminationGracePeriodSeconds();
        assertNotNull(period, layer + ": set terminationGracePeriodSeconds");
        assertTrue(period > defaultGrace.toSeconds(), layer + ": terminationGracePeriodSeconds " + period
                + " must exceed the default shutdown grace " + defaultGrace);
        // Readiness must go DOWN (QUARKUS_SHUTDOWN_DELAY) before the worker's grace starts, and the whole
        // sequence, preStop sleep + shutdown delay + grace, must end before the kubelet's SIGKILL.
        Duration delay = shutdownDelay(docs, pod);
        assertTrue(delay.toSeconds() > 0, layer + ": set QUARKUS_SHUTDOWN_DELAY so readiness goes DOWN before the drain");
        assertTrue(period >= preStop + delay.toSeconds() + grace.toSeconds() + 5, layer + ": terminationGracePeriodSeconds "
                + period + " leaves no margin over the preStop sleep (" + preStop + " s), QUARKUS_SHUTDOWN_DELAY (" + delay
                + ") and the shutdown grace (" + grace + ")");
    }

    /** QUARKUS_SHUTDOWN_DELAY as the container gets it (its env wins over the ConfigMap); zero when unset. */
    private static Duration shutdownDelay(List<Doc> docs, PodSpec pod) {
        String value = configMapData(docs).get("QUARKUS_SHUTDOWN_DELAY");
        for (Container c : pod.getContainers()) {
            for (EnvVar env : c.getEnv()) {
                if ("QUARKUS_SHUTDOWN_DELAY".equals(env.getName()) && env.getValue() != null) {
                    value = env.getValue();
                }
            }
        }
        return value == null ? Duration.ZERO : duration(value);
    }

    @ParameterizedTest
    @MethodSource("layers")
    void serviceDisruptionBudgetNetworkPolicyAndScrapeSelectThePods(Path layer) {
        List<Doc> docs = render(layer);
        Deployment deployment = typed(single(docs, "Deployment").node(), Deployment.class);
        Map<String, String> podLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();
        assertSelects(deployment.getSpec().getSelector(), podLabels, "Deployment selector");

        Service service = typed(single(docs, "Service").node(), Service.class);
        assertTrue(podLabels.entrySet().containsAll(service.getSpec().getSelector().entrySet()),
                "Service selector " + service.getSpec().getSelector() + " does not select the pods");
        Container container = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
        for (ServicePort port : service.getSpec().getPorts()) {
            assertTrue(isContainerPort(container, port.getTargetPort()), "Service targetPort " + port.getTargetPort());
        }

        assertSelects(typed(single(docs, "PodDisruptionBudget").node(), PodDisruptionBudget.class).getSpec().getSelector(),
                podLabels, "PodDisruptionBudget");
        NetworkPolicy policy = typed(single(docs, "NetworkPolicy").node(), NetworkPolicy.class);
        assertSelects(policy.getSpec().getPodSelector(), podLabels, "NetworkPolicy");
        assertTrue(policy.getSpec().getPolicyTypes().containsAll(List.of("Ingress", "Egress")), "NetworkPolicy policyTypes");
        Set<Integer> ingressPorts = new TreeSet<>();
        policy.getSpec().getIngress().forEach(r -> r.getPorts().forEach(p -> ingressPorts.add(p.getPort().getIntVal())));
        assertEquals(Set.of(8080), ingressPorts, "NetworkPolicy ingress ports");
        Set<Integer> egressPorts = new TreeSet<>();
        policy.getSpec().getEgress().forEach(r -> r.getPorts().forEach(p -> egressPorts.add(p.getPort().getIntVal())));
        assertEquals(Set.of(53, 443, 5432), egressPorts, "NetworkPolicy egress ports: DNS, HTTPS, PostgreSQL");

        // ServiceMonitor (custom resource): required fields by hand.
        JsonNode monitor = single(docs, "ServiceMonitor").node().path("spec");
        JsonNode selector = monitor.path("selector").path("matchLabels");
        assertTrue(selector.isObject() && selector.size() > 0, "ServiceMonitor spec.selector.matchLabels is required");
        selector.fields().forEachRemaining(e -> assertEquals(e.getValue().asText(),
                service.getMetadata().getLabels().get(e.getKey()), "ServiceMonitor selects Service label " + e.getKey()));
        assertTrue(monitor.path("endpoints").isArray() && monitor.path("endpoints").size() > 0,
                "ServiceMonitor spec.endpoints is required");
        Set<String> servicePorts = service.getSpec().getPorts().stream().map(ServicePort::getName).collect(Collectors.toSet());
        for (JsonNode endpoint : monitor.path("endpoints")) {
            assertTrue(servicePorts.contains(endpoint.path("port").asText()), "ServiceMonitor port " + endpoint.path("port"));
            assertEquals(METRICS_PATH, endpoint.path("path").asText(), "ServiceMonitor path");
        }
    }

    private static void assertSelects(LabelSelector selector, Map<String, String> labels, String what) {
        assertNotNull(selector, what + " has no selector");
        assertTrue(selector.getMatchLabels() != null && !selector.getMatchLabels().isEmpty(), what + " matchLabels");
        assertTrue(labels.entrySet().containsAll(selector.getMatchLabels().entrySet()),
                what + " selector " + selector.getMatchLabels() + " does not select the pods " + labels);
    }

    @ParameterizedTest
    @MethodSource("layers")
    void oneAutoscalerOwnsTheReplicas(Path layer) {
        List<Doc> docs = render(layer);
        int scaledObjects = ofKind(docs, "ScaledObject").size();
        int hpas = ofKind(docs, "HorizontalPodAutoscaler").size();
        assertEquals(1, scaledObjects + hpas, layer + ": exactly one autoscaler, KEDA's ScaledObject or an HPA");
        Deployment deployment = typed(single(docs, "Deployment").node(), Deployment.class);
        assertNull(deployment.getSpec().getReplicas(),
                layer + ": no spec.replicas in the Deployment, the autoscaler owns them");
        if (hpas == 1) {
            assertHpaTargets(typed(single(docs, "HorizontalPodAutoscaler").node(), HorizontalPodAutoscaler.class),
                    deployment.getMetadata().getName());
        }
    }

    @ParameterizedTest
    @MethodSource("layers")
    void kedaScalesOnTheDuePendingDepthOfTheServicesDatabase(Path layer) {
        List<Doc> docs = render(layer);
        if (ofKind(docs, "ScaledObject").isEmpty()) {
            return; // an HPA layer: oneAutoscalerOwnsTheReplicas covers it
        }
        String deployment = single(docs, "Deployment").name();
        JsonNode spec = single(docs, "ScaledObject").node().path("spec");
        assertEquals(deployment, spec.path("scaleTargetRef").path("name").asText(), "ScaledObject spec.scaleTargetRef.name");
        int min = spec.path("minReplicaCount").asInt(-1);
        int max = spec.path("maxReplicaCount").asInt(-1);
        assertTrue(min >= 1 && max >= min, "ScaledObject replicas: min " + min + ", max " + max
                + " (never to zero: the pods serve the API)");
        JsonNode triggers = spec.path("triggers");
        assertEquals(1, triggers.size(), "one trigger: the queue depth");
        JsonNode trigger = triggers.get(0);
        assertEquals("postgresql", trigger.path("type").asText());
        JsonNode meta = trigger.path("metadata");
        String query = meta.path("query").asText().replaceAll("\\s+", " ");
        assertEquals("SELECT count(*) FROM job_queue WHERE status = 'pending' AND run_at <= now()", query);
        assertTrue(Double.parseDouble(meta.path("targetQueryValue").asText("0")) > 0, "targetQueryValue must be positive");
        for (String field : List.of("host", "port", "dbName", "sslmode")) {
            assertFalse(meta.path(field).asText().isBlank(), "postgresql trigger needs " + field);
        }
        // KEDA must query the database the service uses.
        String jdbc = configMapData(docs).get("QUARKUS_DATASOURCE_JDBC_URL");
        assertNotNull(jdbc, "QUARKUS_DATASOURCE_JDBC_URL");
        Matcher url = Pattern.compile("jdbc:postgresql://([^:/?]+)(?::(\\d+))?/([^?]+).*").matcher(jdbc);
        assertTrue(url.matches(), jdbc);
        assertEquals(url.group(1), meta.path("host").asText(), "KEDA host vs QUARKUS_DATASOURCE_JDBC_URL");
        assertEquals(url.group(2) == null ? "5432" : url.group(2), meta.path("port").asText(), "KEDA port");
        assertEquals(url.group(3), meta.path("dbName").asText(), "KEDA dbName");

        String auth = trigger.path("authenticationRef").path("name").asText();
        Doc triggerAuth = ofKind(docs, "TriggerAuthentication").stream().filter(d -> d.name().equals(auth)).findFirst()
                .orElseThrow(() -> new AssertionError("TriggerAuthentication " + auth + " is not deployed"));
        Set<String> parameters = new TreeSet<>();
        Map<String, String> secretKeys = secretTemplateKeys();
        for (JsonNode ref : triggerAuth.node().path("spec").path("secretTargetRef")) {
            parameters.add(ref.path("parameter").asText());
            assertEquals("imagegen-queue-secrets", ref.path("name").asText(), "TriggerAuthentication Secret");
            assertTrue(secretKeys.containsKey(ref.path("key").asText()), "Secret key " + ref.path("key"));
        }
        assertEquals(Set.of("userName", "password"), parameters, "TriggerAuthentication parameters");
    }

    @Test
    void productionConnectsToPostgresqlOverTls() {
        List<Doc> docs = render(K8S.resolve("overlays/production"));
        Map<String, String> config = configMapData(docs);
        Pattern tls = Pattern.compile(".*[?&]sslmode=(require|verify-ca|verify-full)(&.*)?");
        for (String key : List.of("QUARKUS_DATASOURCE_REACTIVE_URL", "QUARKUS_DATASOURCE_JDBC_URL")) {
            String url = config.get(key);
            assertNotNull(url, key);
            assertTrue(tls.matcher(url).matches(), key + " must require TLS (sslmode=require or stricter): " + url);
        }
        JsonNode keda = single(docs, "ScaledObject").node().path("spec").path("triggers").get(0).path("metadata");
        assertTrue(Set.of("require", "verify-ca", "verify-full").contains(keda.path("sslmode").asText()),
                "KEDA's query must use TLS too: " + keda.path("sslmode").asText());
    }

    @Test
    void hpaAlternativeTargetsTheDeployment() {
        Path file = K8S.resolve("base/hpa.yaml");
        HorizontalPodAutoscaler hpa = typed(single(read(file), "HorizontalPodAutoscaler").node(), HorizontalPodAutoscaler.class);
        assertHpaTargets(hpa, single(render(K8S.resolve("base")), "Deployment").name());
    }

    private static void assertHpaTargets(HorizontalPodAutoscaler hpa, String deployment) {
        assertEquals(deployment, hpa.getSpec().getScaleTargetRef().getName(), "HPA scaleTargetRef.name");
        assertEquals("Deployment", hpa.getSpec().getScaleTargetRef().getKind(), "HPA scaleTargetRef.kind");
        assertTrue(hpa.getSpec().getMinReplicas() != null && hpa.getSpec().getMinReplicas() >= 1
                && hpa.getSpec().getMaxReplicas() >= hpa.getSpec().getMinReplicas(), "HPA replica bounds");
        assertFalse(hpa.getSpec().getMetrics().isEmpty(), "HPA metrics");
    }

    @ParameterizedTest
    @MethodSource("layers")
    void prometheusRuleRaisesTheSeedsThreeAlertsOnExportedMetrics(Path layer) throws Exception {
        JsonNode groups = single(render(layer), "PrometheusRule").node().path("spec").path("groups");
        assertTrue(groups.isArray() && groups.size() > 0, "PrometheusRule spec.groups is required");
        Map<String, JsonNode> alerts = new LinkedHashMap<>();
        Set<String> exported = exportedSeries();
        Pattern series = Pattern.compile("\\bimagegen_[a-z0-9_]+");
        for (JsonNode group : groups) {
            assertFalse(group.path("name").asText().isBlank(), "every rule group needs a name");
            assertTrue(group.path("rules").isArray() && group.path("rules").size() > 0, "rule group without rules");
            for (JsonNode rule : group.path("rules")) {
                assertTrue(rule.hasNonNull("alert") ^ rule.hasNonNull("record"), "a rule is an alert or a record: " + rule);
                assertFalse(rule.path("expr").asText().isBlank(), "rule without expr: " + rule);
                Matcher m = series.matcher(rule.toString());
                while (m.find()) {
                    assertTrue(exported.contains(m.group()), m.group() + " is not a series the service exports (Metrics.java)");
                }
                if (rule.hasNonNull("alert")) {
                    assertFalse(rule.path("labels").path("severity").asText().isBlank(), "alert without severity: " + rule);
                    alerts.put(rule.get("alert").asText(), rule);
                }
            }
        }
        assertTrue(alerts.keySet().containsAll(Set.of("ImagegenQueueDepthHigh", "ImagegenStuckJobs", "ImagegenErrorRateHigh")),
                alerts.keySet().toString());

        String depth = expr(alerts, "ImagegenQueueDepthHigh");
        assertTrue(depth.contains("imagegen_queue_depth{status=\"pending\"}") && depth.endsWith("> 50"), depth);
        assertEquals("5m", alerts.get("ImagegenQueueDepthHigh").path("for").asText());

        String stuck = expr(alerts, "ImagegenStuckJobs");
        assertTrue(stuck.contains("imagegen_queue_depth{status=\"stuck\"}") && stuck.endsWith("> 0"), stuck);
        assertEquals("5m", alerts.get("ImagegenStuckJobs").path("for").asText());

        String errors = expr(alerts, "ImagegenErrorRateHigh");
        assertTrue(outcomes().containsAll(List.of("completed", "failed")), "outcome tag values " + outcomes());
        assertTrue(errors.contains("imagegen_jobs_finished_total{outcome=\"failed\"}[1h]"), errors);
        assertTrue(errors.contains("imagegen_jobs_finished_total{outcome=~\"completed|failed\"}[1h]"), errors);
        assertTrue(errors.endsWith("> 0.10") || errors.endsWith("> 0.1"), errors);

        // Each alert's runbook is a heading of the operations guide.
        String guide = Files.readString(ROOT.resolve("docs/operations-k8s.md"));
        for (Map.Entry<String, JsonNode> alert : alerts.entrySet()) {
            String runbook = alert.getValue().path("annotations").path("runbook_url").asText();
            assertEquals("docs/operations-k8s.md#" + alert.getKey().toLowerCase(Locale.ROOT), runbook);
            assertTrue(guide.contains("### " + alert.getKey()), "docs/operations-k8s.md has no section " + alert.getKey());
        }
    }

    /** The {@code outcome} tag values Metrics declares, or the two the alert needs if it declares none. */
    private static List<?> outcomes() throws IllegalAccessException {
        for (Field f : Metrics.class.getFields()) {
            if (f.getName().equals("OUTCOMES") && Modifier.isStatic(f.getModifiers()) && f.get(null) instanceof List<?> l) {
                return l;
            }
        }
        return List.of("completed", "failed");
    }

    private static String expr(Map<String, JsonNode> alerts, String name) {
        return alerts.get(name).path("expr").asText().replaceAll("\\s+", " ").trim();
    }

    // ---------------------------------------------------------------------------------------------
    // Dockerfiles

    @Test
    void dockerfilesDocumentTheirUseExpose8080AndRunAsNonRoot() throws IOException {
        for (String name : List.of("Dockerfile.jvm", "Dockerfile.native", "Dockerfile.native-micro",
                "Dockerfile.native-multistage")) {
            Path file = DOCKER.resolve(name);
            assertTrue(Files.isRegularFile(file), file + " is missing");
            List<String> lines = Files.readAllLines(file);
            assertTrue(lines.get(0).startsWith("####"), name + " must open with the header comment");
            String header = lines.stream().takeWhile(l -> l.startsWith("#")).collect(Collectors.joining("\n"));
            assertTrue(header.contains("docker build -f src/main/docker/" + name + " "), name + ": header lacks the build command");
            assertTrue(header.contains("docker run "), name + ": header lacks the run command");
            if (!name.endsWith("multistage")) {
                assertTrue(header.contains("./mvnw -B package"), name + ": header lacks the Maven command that comes first");
            }

            List<String> instructions = lines.stream().map(String::trim)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).collect(Collectors.toList());
            int lastFrom = 0;
            for (int i = 0; i < instructions.size(); i++) {
                if (instructions.get(i).startsWith("FROM ")) {
                    lastFrom = i;
                }
            }
            List<String> finalStage = instructions.subList(lastFrom, instructions.size());
            List<String> users = finalStage.stream().filter(l -> l.startsWith("USER ")).collect(Collectors.toList());
            assertFalse(users.isEmpty(), name + ": the final stage must set a USER");
            String user = users.get(users.size() - 1).substring(5).trim().split(":")[0];
            assertTrue(user.matches("[1-9][0-9]*"), name + ": runs as " + user + ", expected a numeric non-root uid");
            assertTrue(finalStage.contains("EXPOSE 8080"), name + ": EXPOSE 8080");
        }

        List<String> multistage = Files.readAllLines(DOCKER.resolve("Dockerfile.native-multistage"));
        assertTrue(multistage.stream().anyMatch(l -> l.matches("FROM quay\\.io/quarkus/ubi9-quarkus-mandrel-builder-image:jdk-\\d+ AS build")),
                "multistage builds in the Mandrel builder image");
        assertTrue(multistage.stream().anyMatch(l -> l.startsWith("RUN ./mvnw -B package -Dnative -DskipTests")),
                "multistage runs the native Maven build");
        assertTrue(multistage.stream().anyMatch(l -> l.startsWith("FROM quay.io/quarkus/ubi9-quarkus-micro-image:")),
                "multistage runs on the micro image");
        assertTrue(multistage.stream().anyMatch(l -> l.startsWith("COPY --from=build ")), "multistage copies the executable");

        List<String> ignore = Files.readAllLines(ROOT.resolve(".dockerignore")).stream().map(String::trim)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).collect(Collectors.toList());
        assertEquals("*", ignore.get(0), ".dockerignore must be an allowlist: `*` first");
        assertTrue(ignore.containsAll(List.of("!target/quarkus-app/*", "!target/*-runner", "!pom.xml", "!mvnw", "!.mvn", "!src")),
                ".dockerignore must let in what the Dockerfiles copy: " + ignore);
    }

    /** The native executable's memory limit (issue #13): its measured RSS is 83-87 MiB. */
    private static final long NATIVE_MEMORY_LIMIT_BYTES = 128L * 1024 * 1024;

    @Test
    void baseRunsTheNativeImageSizedForItAndTheJvmImageIsAnOverlay() throws IOException {
        Container base = typed(single(render(K8S.resolve("base")), "Deployment").node(), Deployment.class)
                .getSpec().getTemplate().getSpec().getContainers().get(0);
        assertTrue(base.getImage().endsWith("-native"), "the base deploys the native image: " + base.getImage());
        long limit = memory(base, true);
        long request = memory(base, false);
        assertTrue(limit <= NATIVE_MEMORY_LIMIT_BYTES, "native memory limit " + limit + " must be at most 128Mi");
        assertTrue(request > 0 && request <= limit, "native memory request " + request + " within the limit " + limit);
        assertNotNull(base.getResources().getRequests().get("cpu"), "the base requests CPU");
        assertNotNull(base.getResources().getLimits().get("cpu"), "the base limits CPU");
        long heap = base.getArgs().stream().filter(a -> a.startsWith("-Xmx")).findFirst()
                .map(a -> Quantity.getAmountInBytes(new Quantity(a.substring(4).toUpperCase(Locale.ROOT) + "i")).longValue())
                .orElseThrow(() -> new AssertionError("the native executable needs an -Xmx under its memory limit"));
        assertTrue(heap <= limit / 2, "-Xmx " + heap + " leaves under half of the limit " + limit + " off-heap");

        Path jvmLayer = K8S.resolve("overlays/jvm");
        JsonNode images = kustomization(jvmLayer).path("images");
        assertTrue(images.size() == 1 && images.get(0).path("newTag").asText().endsWith("-jvm"),
                "overlays/jvm swaps in the JVM image tag: " + images);
        String jvmTag = images.get(0).path("newTag").asText();
        assertTrue(Files.readString(DOCKER.resolve("Dockerfile.jvm")).contains("imagegen/imagegen-queue:" + jvmTag + " "),
                "overlays/jvm deploys the tag Dockerfile.jvm's header builds");
        Container jvm = typed(single(render(jvmLayer), "Deployment").node(), Deployment.class)
                .getSpec().getTemplate().getSpec().getContainers().get(0);
        assertTrue(jvm.getArgs().isEmpty(), "the JVM image takes no native -Xmx argument: " + jvm.getArgs());
        assertTrue(memory(jvm, true) > limit, "the JVM needs more memory than the native executable");
        assertTrue(memory(jvm, false) <= memory(jvm, true), "JVM memory request within its limit");
    }

    private static long memory(Container c, boolean limit) {
        Map<String, Quantity> values = limit ? c.getResources().getLimits() : c.getResources().getRequests();
        assertNotNull(values, c.getName() + " sets no resource " + (limit ? "limits" : "requests"));
        Quantity q = values.get("memory");
        assertNotNull(q, c.getName() + " sets no memory " + (limit ? "limit" : "request"));
        return Quantity.getAmountInBytes(q).longValue();
    }

    @Test
    void deploymentRunsTheNativeImagesUser() throws IOException {
        PodSpec pod = typed(single(render(K8S.resolve("base")), "Deployment").node(), Deployment.class)
                .getSpec().getTemplate().getSpec();
        String nativeUser = Files.readAllLines(DOCKER.resolve("Dockerfile.native-micro")).stream()
                .filter(l -> l.startsWith("USER ")).reduce((a, b) -> b).orElseThrow().substring(5).trim();
        Long uid = pod.getSecurityContext().getRunAsUser();
        if (uid != null) {
            assertEquals(nativeUser, uid.toString(), "the pod's runAsUser should be the native image's USER");
        }
        if (!pod.getContainers().get(0).getImage().contains("native")) {
            fail("the Deployment should run the native image: " + pod.getContainers().get(0).getImage());
        }
    }
}
