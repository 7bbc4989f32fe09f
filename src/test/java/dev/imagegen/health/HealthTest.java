package dev.imagegen.health;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsInAnyOrder;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.lessThan;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;

/** The platform probes: each answers UP with the data operators read, and only our own checks run. */
@QuarkusTest
class HealthTest {

    @Test
    void livenessReportsTheWorkerLoopTickWithoutTouchingTheDatabase() {
        given().get("/q/health/live").then()
                .statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.name", containsInAnyOrder("worker-loop"))
                .body("checks[0].status", equalTo("UP"))
                .body("checks[0].data.worker_enabled", equalTo(true))
                // 3 × the test poll interval (1 s) + 30 s.
                .body("checks[0].data.max_seconds", equalTo(33))
                .body("checks[0].data.seconds_since_last_tick", lessThan(33));
    }

    @Test
    void readinessReportsDatabaseMigrationsAndWorker() {
        given().get("/q/health/ready").then()
                .statusCode(200)
                .body("status", equalTo("UP"))
                // Our two checks, and Quarkus' shutdown-delay check (DOWN from SIGTERM on); the extensions'
                // datasource checks are disabled, not duplicated.
                .body("checks.name", containsInAnyOrder("database", "worker", "Graceful Shutdown"))
                .body("checks.find { it.name == 'database' }.status", equalTo("UP"))
                .body("checks.find { it.name == 'database' }.data.reachable", equalTo(true))
                .body("checks.find { it.name == 'database' }.data.migrations", equalTo("applied"))
                .body("checks.find { it.name == 'database' }.data.schema_version", equalTo("4"))
                .body("checks.find { it.name == 'database' }.data.expected_schema_version", equalTo("4"))
                .body("checks.find { it.name == 'worker' }.status", equalTo("UP"))
                .body("checks.find { it.name == 'worker' }.data.enabled", equalTo(true))
                .body("checks.find { it.name == 'worker' }.data.running", equalTo(true))
                .body("checks.find { it.name == 'worker' }.data.listening", instanceOf(Boolean.class))
                .body("checks.find { it.name == 'worker' }.data.in_flight", greaterThanOrEqualTo(0))
                .body("checks.find { it.name == 'worker' }.data.max_parallel_jobs", equalTo(4));
    }

    @Test
    void startedReportsTheExpectedSchemaAndTheWorker() {
        given().get("/q/health/started").then()
                .statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.name", containsInAnyOrder("startup"))
                .body("checks[0].data.expected_schema_version", equalTo("4"))
                .body("checks[0].data.worker_enabled", equalTo(true))
                .body("checks[0].data.worker_running", equalTo(true));
    }

    @Test
    void theWholeHealthDocumentIsUp() {
        given().get("/q/health").then()
                .statusCode(200)
                .body("status", equalTo("UP"))
                .body("checks.name", containsInAnyOrder("worker-loop", "database", "worker", "startup", "Graceful Shutdown"));
    }
}
