package dev.imagegen.generation;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.Tokens;

@QuarkusTest
class GenerationApiTest {

    @Inject
    Pool pool;

    String alice = Tokens.user("alice-" + UUID.randomUUID());
    String bob = Tokens.user("bob-" + UUID.randomUUID());

    @BeforeEach
    void clean() {
        Db.clean(pool);
    }

    ValidatableResponse post(String token, String body) {
        return given().header("Authorization", bearer(token)).contentType(ContentType.JSON).body(body)
                .when().post("/v1/generations").then();
    }

    @Test
    void enqueueAnswers202WithLocationAndWritesGenerationAndJob() {
        var response = post(alice, """
                {"prompt":"  A beautiful sunset over mountains ","model_id":"black-forest-labs/flux-schnell",
                 "width":1024,"height":768,"num_inference_steps":4,"guidance_scale":7.5}""")
                .statusCode(202)
                .body("success", equalTo(true))
                .body("status", equalTo("queued"))
                .body("message", equalTo("Image generation started. You will be notified when complete."))
                .body("job_id", notNullValue())
                .extract();
        String id = response.path("generation_id");
        assertEquals("/v1/generations/" + id, response.header("Location"));
        assertEquals(1, Db.count(pool, "SELECT count(*) FROM image_generations WHERE id = $1", UUID.fromString(id)));
        assertEquals(1, Db.count(pool, "SELECT count(*) FROM job_queue WHERE generation_id = $1 AND job_type = 'generate_image'",
                UUID.fromString(id)));
        given().header("Authorization", bearer(alice)).get("/v1/generations/" + id).then()
                .statusCode(200)
                .body("id", equalTo(id))
                .body("prompt", equalTo("A beautiful sunset over mountains"))
                .body("model_id", equalTo("black-forest-labs/flux-schnell"))
                .body("width", equalTo(1024))
                .body("height", equalTo(768))
                .body("num_inference_steps", equalTo(4))
                .body("guidance_scale", equalTo(7.5f))
                .body("num_outputs", equalTo(1))
                .body("created_at", notNullValue())
                .body("images", notNullValue());
    }

    @Test
    void seedRouteTakesTheSameBodyAndAnswersTheSame() {
        given().header("Authorization", bearer(alice)).contentType(ContentType.JSON).body("{\"prompt\":\"cat\"}")
                .when().post("/functions/v1/start-generation").then()
                .statusCode(202)
                .body("success", equalTo(true))
                .body("status", equalTo("queued"))
                .body("generation_id", notNullValue())
                .body("job_id", notNullValue());
    }

    @Test
    void defaultsAreFilledIn() {
        String id = post(alice, "{\"prompt\":\"cat\"}").statusCode(202).extract().path("generation_id");
        given().header("Authorization", bearer(alice)).get("/v1/generations/" + id).then()
                .statusCode(200)
                .body("model_id", equalTo("black-forest-labs/flux-schnell"))
                .body("width", equalTo(1024))
                .body("height", equalTo(1024))
                .body("num_outputs", equalTo(1))
                .body("seed", nullValue())
                .body("error_message", nullValue());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"prompt\":\"\"}|prompt",
            "{\"prompt\":\"   \"}|prompt",
            "{}|prompt",
            "{\"prompt\":7}|prompt",
            "{\"prompt\":\"a\",\"width\":\"1024\"}|width",
            "{\"prompt\":\"a\",\"width\":512.5}|width",
            "{\"prompt\":\"a\",\"width\":512.0}|width",
            "{\"prompt\":\"a\",\"width\":1001}|width",
            "{\"prompt\":\"a\",\"width\":56}|width",
            "{\"prompt\":\"a\",\"height\":4096}|height",
            "{\"prompt\":\"a\",\"width\":true}|width",
            "{\"prompt\":\"a\",\"num_inference_steps\":0}|num_inference_steps",
            "{\"prompt\":\"a\",\"num_inference_steps\":5}|num_inference_steps",
            "{\"prompt\":\"a\",\"model_id\":\"stability-ai/sdxl\",\"num_inference_steps\":101}|num_inference_steps",
            "{\"prompt\":\"a\",\"guidance_scale\":51}|guidance_scale",
            "{\"prompt\":\"a\",\"guidance_scale\":-1}|guidance_scale",
            "{\"prompt\":\"a\",\"guidance_scale\":\"7\"}|guidance_scale",
            "{\"prompt\":\"a\",\"seed\":-1}|seed",
            "{\"prompt\":\"a\",\"seed\":1.5}|seed",
            "{\"prompt\":\"a\",\"seed\":99999999999999999999999}|seed",
            "{\"prompt\":\"a\",\"num_outputs\":5}|num_outputs",
            "{\"prompt\":\"a\",\"num_outputs\":0}|num_outputs",
            "{\"prompt\":\"a\",\"output_format\":\"gif\"}|output_format",
            "{\"prompt\":\"a\",\"model_id\":\"nope\"}|model_id",
            "{\"prompt\":\"a\",\"model_id\":\"a/b:123\"}|model_id",
            "{\"prompt\":\"a\",\"model_id\":\"black-forest-labs/flux-dev\",\"guidance_scale\":11}|guidance_scale",
            "{\"prompt\":\"a\",\"colour\":\"red\"}|colour",
            "[1,2]|body",
            "\"text\"|body",
            "null|body",
            "{\"prompt\":\"a\"} {}|body",
            "{\"prompt\":\"a\",\"prompt\":\"b\"}|body",
            "{\"prompt\":\"a\"|body",
            "{'prompt':'a'}|body",
            "{\"prompt\":\"a\",\"seed\":NaN}|body",
    })
    void invalidBodiesAre400ProblemsNamingTheFieldAndChangeNothing(String spec) {
        int bar = spec.lastIndexOf('|');
        String body = spec.substring(0, bar);
        String field = spec.substring(bar + 1);
        post(alice, body)
                .statusCode(400)
                .contentType("application/problem+json")
                .body("status", equalTo(400))
                .body("type", notNullValue())
                .body("title", notNullValue())
                .body("detail", notNullValue())
                .body("errors.field", hasItem(field));
        assertEquals(0, Db.count(pool, "SELECT count(*) FROM image_generations"));
        assertEquals(0, Db.count(pool, "SELECT count(*) FROM job_queue"));
    }

    @Test
    void everyOffendingFieldIsListed() {
        post(alice, "{\"prompt\":\"\",\"width\":3,\"height\":\"x\",\"extra\":1}")
                .statusCode(400)
                .body("errors", hasSize(4))
                .body("errors.field", everyItem(org.hamcrest.Matchers.in(new String[] { "prompt", "width", "height", "extra" })));
    }

    @Test
    void promptOf4000CharactersIsAcceptedAnd4001IsNot() {
        post(alice, "{\"prompt\":\"" + "x".repeat(4000) + "\"}").statusCode(202);
        post(alice, "{\"prompt\":\"" + "x".repeat(4001) + "\"}").statusCode(400).body("errors.field", hasItem("prompt"));
    }

    @Test
    void flux_ignoresGuidanceButSdxlKeepsIt() {
        post(alice, "{\"prompt\":\"a\",\"guidance_scale\":7.5,\"num_inference_steps\":4}").statusCode(202);
        post(alice, "{\"prompt\":\"a\",\"model_id\":\"stability-ai/sdxl\",\"guidance_scale\":7.5,\"num_inference_steps\":40}")
                .statusCode(202);
    }

    @Test
    void bodyOver64KiBIs413() {
        String big = "{\"prompt\":\"a\",\"pad\":\"" + "x".repeat(70 * 1024) + "\"}";
        post(alice, big).statusCode(413).contentType("application/problem+json").body("status", equalTo(413));
        assertEquals(0, Db.count(pool, "SELECT count(*) FROM image_generations"));
    }

    @Test
    void bodyOverTheServerLimitIsAlso413Problem() {
        String huge = "{\"prompt\":\"a\",\"pad\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}";
        post(alice, huge).statusCode(413).contentType("application/problem+json");
    }

    @Test
    void wrongContentTypeIs415() {
        given().header("Authorization", bearer(alice)).contentType("text/plain").body("{\"prompt\":\"a\"}")
                .post("/v1/generations").then()
                .statusCode(415).contentType("application/problem+json").body("status", equalTo(415));
    }

    @Test
    void emptyBodyIs400() {
        given().header("Authorization", bearer(alice)).contentType(ContentType.JSON)
                .post("/v1/generations").then()
                .statusCode(400).contentType("application/problem+json");
    }

    @Test
    void unknownRouteIs404AndWrongMethodIs405Problems() {
        given().header("Authorization", bearer(alice)).get("/v1/nothing-here").then()
                .statusCode(404).contentType("application/problem+json").body("status", equalTo(404));
        given().get("/no/such/path").then()
                .statusCode(404).contentType("application/problem+json");
        given().header("Authorization", bearer(alice)).delete("/v1/generations").then()
                .statusCode(405).contentType("application/problem+json").body("status", equalTo(405));
    }

    @Test
    void userWhoSendsPriorityGets403AndOperatorMay() {
        post(alice, "{\"prompt\":\"a\",\"priority\":5}").statusCode(403).contentType("application/problem+json");
        assertEquals(0, Db.count(pool, "SELECT count(*) FROM job_queue"));
        String id = post(Tokens.operator(), "{\"prompt\":\"a\",\"priority\":5}").statusCode(202).extract().path("job_id");
        assertEquals(5, Db.query(pool, "SELECT priority FROM job_queue WHERE id = $1", UUID.fromString(id)).get(0).getInteger(0));
        post(Tokens.operator(), "{\"prompt\":\"a\",\"priority\":101}").statusCode(400).body("errors.field", hasItem("priority"));
    }

    @Test
    void anotherUsersGenerationIs404LikeAMissingOne() {
        String id = post(alice, "{\"prompt\":\"secret\"}").statusCode(202).extract().path("generation_id");
        var other = given().header("Authorization", bearer(bob)).get("/v1/generations/" + id).then()
                .statusCode(404).contentType("application/problem+json").extract().body().asString();
        var missing = given().header("Authorization", bearer(bob)).get("/v1/generations/" + UUID.randomUUID()).then()
                .statusCode(404).contentType("application/problem+json").extract().body().asString();
        assertEquals(other.replace(id, "ID"), missing.replaceAll("[0-9a-f-]{36}", "ID"));
        given().header("Authorization", bearer(bob)).get("/v1/generations/not-a-uuid").then().statusCode(404);
        given().header("Authorization", bearer(Tokens.operator())).get("/v1/generations/" + id).then().statusCode(200);
    }

    @Test
    void listIsNewestFirstWithCursorPagingAndStatusFilter() {
        for (int i = 0; i < 5; i++) {
            post(alice, "{\"prompt\":\"p" + i + "\"}").statusCode(202);
        }
        post(bob, "{\"prompt\":\"bob's\"}").statusCode(202);
        var page1 = given().header("Authorization", bearer(alice)).queryParam("limit", 2).get("/v1/generations").then()
                .statusCode(200).body("items", hasSize(2)).body("items[0].prompt", equalTo("p4"))
                .body("items[1].prompt", equalTo("p3")).body("next_cursor", notNullValue()).extract();
        var page2 = given().header("Authorization", bearer(alice)).queryParam("limit", 2)
                .queryParam("cursor", (String) page1.path("next_cursor")).get("/v1/generations").then()
                .statusCode(200).body("items", hasSize(2)).body("items[0].prompt", equalTo("p2")).extract();
        given().header("Authorization", bearer(alice)).queryParam("limit", 2)
                .queryParam("cursor", (String) page2.path("next_cursor")).get("/v1/generations").then()
                .statusCode(200).body("items", hasSize(1)).body("items[0].prompt", equalTo("p0"))
                .body("next_cursor", nullValue());
        given().header("Authorization", bearer(alice)).get("/v1/generations").then()
                .statusCode(200).body("items", hasSize(5)).body("items.prompt", everyItem(org.hamcrest.Matchers.startsWith("p")));
        given().header("Authorization", bearer(alice)).queryParam("status", "canceled").get("/v1/generations").then()
                .statusCode(200).body("items", hasSize(0));
    }

    @ParameterizedTest
    @ValueSource(strings = { "status=done", "limit=0", "limit=101", "limit=abc", "limit=2.5", "cursor=%%%", "cursor=bm9wZQ" })
    void badListParametersAre400(String query) {
        given().header("Authorization", bearer(alice)).get("/v1/generations?" + query).then()
                .statusCode(400).contentType("application/problem+json").body("errors", notNullValue());
    }

    @Test
    void idempotencyKeyReplaysTheFirstAnswerAndRejectsAnotherBody() {
        var first = given().header("Authorization", bearer(alice)).header("Idempotency-Key", "k-1")
                .contentType(ContentType.JSON).body("{\"prompt\":\"same\"}").post("/v1/generations").then()
                .statusCode(202).extract();
        var again = given().header("Authorization", bearer(alice)).header("Idempotency-Key", "k-1")
                .contentType(ContentType.JSON).body("{ \"prompt\" : \"same\" }").post("/functions/v1/start-generation").then()
                .statusCode(202).extract();
        assertEquals(first.body().asString(), again.body().asString());
        assertEquals(first.header("Location"), again.header("Location"));
        assertEquals(1, Db.count(pool, "SELECT count(*) FROM image_generations"));
        given().header("Authorization", bearer(alice)).header("Idempotency-Key", "k-1")
                .contentType(ContentType.JSON).body("{\"prompt\":\"different\"}").post("/v1/generations").then()
                .statusCode(409).contentType("application/problem+json");
        // Keys belong to a user: bob's k-1 is a new request.
        var bobs = given().header("Authorization", bearer(bob)).header("Idempotency-Key", "k-1")
                .contentType(ContentType.JSON).body("{\"prompt\":\"same\"}").post("/v1/generations").then()
                .statusCode(202).extract();
        assertNotEquals((String) first.path("generation_id"), (String) bobs.path("generation_id"));
        assertEquals(2, Db.count(pool, "SELECT count(*) FROM image_generations"));
        assertEquals(2, Db.count(pool, "SELECT count(*) FROM job_queue"));
    }

    @Test
    void expiredIdempotencyKeyStartsAfresh() {
        given().header("Authorization", bearer(alice)).header("Idempotency-Key", "old")
                .contentType(ContentType.JSON).body("{\"prompt\":\"x\"}").post("/v1/generations").then().statusCode(202);
        Db.exec(pool, "UPDATE idempotency_keys SET created_at = now() - interval '25 hours'");
        given().header("Authorization", bearer(alice)).header("Idempotency-Key", "old")
                .contentType(ContentType.JSON).body("{\"prompt\":\"y\"}").post("/v1/generations").then().statusCode(202);
        assertEquals(2, Db.count(pool, "SELECT count(*) FROM image_generations"));
    }

    @Test
    void badIdempotencyKeyIs400() {
        given().header("Authorization", bearer(alice)).header("Idempotency-Key", "k".repeat(256))
                .contentType(ContentType.JSON).body("{\"prompt\":\"x\"}").post("/v1/generations").then()
                .statusCode(400).body("errors.field", hasItem("Idempotency-Key"));
    }

    @Test
    void aFailingJobInsertLeavesNoOrphanGeneration() {
        Db.exec(pool, """
                CREATE OR REPLACE FUNCTION test_reject_job() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'job insert rejected by test'; END $$""");
        Db.exec(pool, "CREATE TRIGGER test_reject_job BEFORE INSERT ON job_queue FOR EACH ROW EXECUTE FUNCTION test_reject_job()");
        try {
            post(alice, "{\"prompt\":\"doomed\"}").statusCode(500).contentType("application/problem+json")
                    .body("detail", org.hamcrest.Matchers.not(containsString("rejected by test")));
            assertEquals(0, Db.count(pool, "SELECT count(*) FROM image_generations"));
            assertEquals(0, Db.count(pool, "SELECT count(*) FROM job_queue"));
        } finally {
            Db.exec(pool, "DROP TRIGGER test_reject_job ON job_queue");
        }
    }
}
