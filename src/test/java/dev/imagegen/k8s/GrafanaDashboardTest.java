package dev.imagegen.k8s;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.quarkus.test.junit.QuarkusTest;

/**
 * The Grafana dashboard shipped in {@code k8s/base/grafana/}: every metric it queries exists in this service's
 * {@code /q/metrics}, every alert of the PrometheusRule has its panel, and the ConfigMap the Grafana sidecar
 * loads carries exactly the JSON file.
 */
@QuarkusTest
class GrafanaDashboardTest {

    static final Path BASE = Path.of("k8s", "base");
    static final Path DASHBOARD = BASE.resolve("grafana/imagegen-queue.json");
    static final Path CONFIG_MAP = BASE.resolve("grafana-dashboard.yaml");
    static final Path RULES = BASE.resolve("prometheusrule.yaml");

    static final ObjectMapper JSON = new ObjectMapper();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** PromQL words that look like metric names: functions, aggregations, keywords. */
    static final Set<String> PROMQL = Set.of("sum", "min", "max", "avg", "count", "rate", "irate", "increase",
            "histogram_quantile", "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "clamp_min", "clamp_max", "abs", "vector", "time", "topk", "bottomk", "label_replace",
            "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "deriv", "delta", "offset", "bool",
            "scalar", "absent", "ceil", "floor", "round");
    static final Pattern IDENT = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");

    /** The metric names a PromQL expression reads. */
    static Set<String> metricNames(String expr) {
        String bare = expr.replaceAll("\"[^\"]*\"", "")
                .replaceAll("\\{[^}]*\\}", "")
                .replaceAll("\\[[^\\]]*\\]", "")
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", "")
                .replaceAll("\\$\\w+", "")
                .replaceAll("(?<![\\w.])\\d+(\\.\\d+)?([eE][-+]?\\d+)?", "");
        Set<String> out = new TreeSet<>();
        Matcher m = IDENT.matcher(bare);
        while (m.find()) {
            String word = m.group();
            if (!PROMQL.contains(word) && !word.matches("\\d.*")) {
                out.add(word);
            }
        }
        return out;
    }

    static List<JsonNode> panels(JsonNode dashboard) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode p : dashboard.path("panels")) {
            out.add(p);
            p.path("panels").forEach(out::add);
        }
        return out;
    }

    static Set<String> queried(JsonNode panel) {
        Set<String> names = new TreeSet<>();
        for (JsonNode t : panel.path("targets")) {
            names.addAll(metricNames(t.path("expr").asText()));
        }
        return names;
    }

    static JsonNode dashboard() throws IOException {
        return JSON.readTree(DASHBOARD.toFile());
    }

    @Test
    void everyMetricTheDashboardQueriesIsExposedByTheService() throws IOException {
        String scrape = given().get("/q/metrics").then().statusCode(200).extract().asString();
        Files.writeString(Path.of("target", "q-metrics.txt"), scrape); // what was compared, for a failure's reader
        Set<String> exposed = new TreeSet<>();
        for (String line : scrape.split("\n")) {
            if (!line.startsWith("#") && !line.isBlank()) {
                Matcher m = IDENT.matcher(line);
                if (m.lookingAt()) {
                    exposed.add(m.group());
                }
            }
        }
        Set<String> missing = new TreeSet<>();
        int queries = 0;
        for (JsonNode panel : panels(dashboard())) {
            for (JsonNode t : panel.path("targets")) {
                queries++;
                for (String name : metricNames(t.path("expr").asText())) {
                    if (!exposed.contains(name)) {
                        missing.add(name + " (panel \"" + panel.path("title").asText() + "\")");
                    }
                }
            }
        }
        assertTrue(queries >= 10, "the dashboard has its queries");
        assertTrue(missing.isEmpty(), "queried but not in /q/metrics: " + missing);
    }

    @Test
    void everyAlertOfThePrometheusRuleHasAPanelOnItsMetrics() throws IOException {
        JsonNode rules = YAML.readTree(RULES.toFile());
        List<JsonNode> panels = panels(dashboard());
        int alerts = 0;
        for (JsonNode group : rules.path("spec").path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                if (!rule.has("alert")) {
                    continue;
                }
                alerts++;
                String alert = rule.path("alert").asText();
                Set<String> needs = metricNames(rule.path("expr").asText());
                boolean covered = panels.stream().anyMatch(p -> p.path("description").asText().contains(alert)
                        && queried(p).containsAll(needs));
                assertTrue(covered, "no panel names " + alert + " in its description and queries " + needs);
            }
        }
        assertTrue(alerts >= 3, "the PrometheusRule's alerts were read");
    }

    @Test
    void theSidecarConfigMapCarriesTheDashboardJson() throws IOException {
        JsonNode cm = YAML.readTree(CONFIG_MAP.toFile());
        assertEquals("ConfigMap", cm.path("kind").asText());
        assertEquals("1", cm.path("metadata").path("labels").path("grafana_dashboard").asText(),
                "the Grafana sidecar loads ConfigMaps labelled grafana_dashboard=1");
        assertEquals(dashboard(), JSON.readTree(cm.path("data").path("imagegen-queue.json").asText()),
                "k8s/base/grafana-dashboard.yaml must embed k8s/base/grafana/imagegen-queue.json unchanged");
        String kustomization = Files.readString(BASE.resolve("kustomization.yaml"));
        assertTrue(kustomization.contains("- grafana-dashboard.yaml"), "the base applies the dashboard ConfigMap");
        Set<String> titles = new LinkedHashSet<>();
        panels(dashboard()).forEach(p -> titles.add(p.path("title").asText()));
        assertFalse(titles.contains(""), "every panel has a title");
    }

    @Test
    void theMetricNameParserFindsMetricsNotLabelsOrFunctions() {
        assertEquals(Set.of("a_total", "b_bucket"), metricNames(
                "sum by (status) (rate(a_total{outcome=\"failed\"}[5m])) / histogram_quantile(0.95, sum by (le) (rate(b_bucket[5m])))"
                        + " / clamp_min(a_total, 1e-9)"));
    }
}
