package dev.imagegen;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import dev.imagegen.auth.CallerResolver;
import dev.imagegen.generation.GenerationEvents;
import dev.imagegen.queue.JobNotifier;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The package dependencies run one way; these rules fail the build when a change bends them back.
 * docs/architecture.md draws the same picture. Only production classes are checked.
 */
@AnalyzeClasses(packages = "dev.imagegen", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    /** The PostgreSQL client, in its plain and Mutiny forms. */
    private static final String[] SQL_CLIENT = { "io.vertx.sqlclient..", "io.vertx.mutiny.sqlclient..",
            "io.vertx.pgclient..", "io.vertx.mutiny.pgclient.." };

    /** HTTP in any form: JAX-RS, Vert.x HTTP and web, the REST client. */
    private static final String[] HTTP = { "jakarta.ws.rs..", "org.jboss.resteasy..", "io.vertx.core.http..",
            "io.vertx.mutiny.core.http..", "io.vertx.ext.web..", "io.vertx.mutiny.ext.web..",
            "org.eclipse.microprofile.rest.client..", "io.quarkus.rest.client.." };

    /** What a class injects: a CDI bean of any scope, or the typed configuration. */
    private static final String[] INJECTABLE = { "jakarta.enterprise.context.ApplicationScoped",
            "jakarta.enterprise.context.RequestScoped", "jakarta.enterprise.context.Dependent", "jakarta.inject.Singleton",
            "io.smallrye.config.ConfigMapping" };

    /**
     * A service is what a resource may call: a bean whose name ends in {@code Service}, plus the two that speak
     * for themselves: {@link CallerResolver} (who is calling) and {@link GenerationEvents} (the event streams).
     * A project interface counts as a bean (ImageStore, a REST client): its implementations are injected.
     */
    private static final DescribedPredicate<JavaClass> PROJECT_BEANS_OTHER_THAN_SERVICES = DescribedPredicate.describe(
            "are project beans, bean interfaces or configuration other than services",
            c -> c.getPackageName().startsWith("dev.imagegen")
                    && (c.isInterface() || java.util.Arrays.stream(INJECTABLE).anyMatch(c::isAnnotatedWith))
                    && !c.getSimpleName().endsWith("Service")
                    && !c.isEquivalentTo(CallerResolver.class)
                    && !c.isEquivalentTo(GenerationEvents.class));

    /** A resource and the classes nested in it (the events filter, for one). */
    private static final String RESOURCE = ".*Resource(\\$.*)?";

    /** A feature package and its sub-packages (generation.rest belongs to generation) form one slice. */
    @ArchTest
    static final ArchRule feature_packages_are_free_of_cycles = slices().matching("dev.imagegen.(*)..")
            .should().beFreeOfCycles();

    /**
     * SQL lives in repositories. The one exception is the notifier, which owns the LISTEN connection
     * (PgSubscriber) and pings it; it runs no statement on the data.
     */
    @ArchTest
    static final ArchRule only_repositories_use_the_sql_client = noClasses()
            .that().haveSimpleNameNotEndingWith("Repository")
            .and().doNotBelongToAnyOf(JobNotifier.class)
            .should().dependOnClassesThat().resideInAnyPackage(SQL_CLIENT)
            .because("SQL lives only in repositories (STYLE.md)");

    @ArchTest
    static final ArchRule queue_knows_nothing_of_replicate_http_or_storage = noClasses()
            .that().resideInAPackage("dev.imagegen.queue..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.imagegen.replicate..", "dev.imagegen.storage..",
                    "dev.imagegen.webhook..", "dev.imagegen.generation..", "dev.imagegen.worker..", "dev.imagegen.admin..",
                    "dev.imagegen.simulator..")
            .orShould().dependOnClassesThat().resideInAnyPackage(HTTP)
            .because("the queue is generic: jobs, leases and retention, whatever the job does");

    @ArchTest
    static final ArchRule only_the_simulator_knows_the_simulator = noClasses()
            .that().resideOutsideOfPackage("dev.imagegen.simulator..")
            .should().dependOnClassesThat().resideInAPackage("dev.imagegen.simulator..")
            .because("the simulator is a dev-profile stand-in for Replicate that production never loads");

    @ArchTest
    static final ArchRule resources_never_touch_the_database = noClasses()
            .that().haveSimpleNameEndingWith("Resource")
            .should().dependOnClassesThat().resideInAnyPackage(SQL_CLIENT)
            .because("resources read requests and call services; SQL lives in repositories");

    /** Resources read requests and call services (a repository's nested types included). */
    @ArchTest
    static final ArchRule resources_depend_on_services_not_repositories = noClasses()
            .that().haveSimpleNameEndingWith("Resource")
            .should().dependOnClassesThat().haveNameMatching(".*Repository(\\$.*)?")
            .because("a resource's rules (who may see what) live in a service the other entry points share");

    @ArchTest
    static final ArchRule resources_do_not_call_each_other = noClasses()
            .that().haveSimpleNameEndingWith("Resource")
            .should().dependOnClassesThat().haveSimpleNameEndingWith("Resource")
            .because("what two resources share (ids, problems, paging) lives in api");

    /**
     * A resource maps the request to the domain, calls a service and maps the answer to HTTP: of this project's
     * beans it injects only services (no repository, store, queue, worker or configuration). Values (records,
     * enums, the api types) pass freely.
     */
    @ArchTest
    static final ArchRule resources_depend_only_on_services = noClasses()
            .that().haveNameMatching(RESOURCE)
            .should().dependOnClassesThat(PROJECT_BEANS_OTHER_THAN_SERVICES)
            .because("a resource only adapts HTTP; what it answers is decided in a service (STYLE.md §1)");

    /**
     * Services throw domain exceptions (api.ApiException and its subclasses), never JAX-RS ones: the one
     * exception mapper (api.ExceptionMappers) turns them into problem+json. HTTP stays in resources, their
     * filters and writers ({@code rest} packages), the api package and the Replicate REST client.
     */
    @ArchTest
    static final ArchRule services_know_nothing_of_jax_rs = noClasses()
            .that().resideInAnyPackage("dev.imagegen.generation", "dev.imagegen.image", "dev.imagegen.webhook",
                    "dev.imagegen.admin", "dev.imagegen.auth", "dev.imagegen.page")
            .and().haveNameNotMatching(RESOURCE)
            .should().dependOnClassesThat().resideInAnyPackage("jakarta.ws.rs..", "org.jboss.resteasy..")
            .because("services throw domain exceptions that api.ExceptionMappers alone maps to HTTP");
}
