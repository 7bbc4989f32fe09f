package dev.imagegen.admin;

import java.util.Map;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.security.SecurityRequirement;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import io.quarkus.runtime.annotations.RegisterForReflection;
import io.quarkus.security.Authenticated;
import io.smallrye.mutiny.Uni;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.Cursor;
import dev.imagegen.api.Page;
import dev.imagegen.api.ResourceIds;
import dev.imagegen.auth.CallerResolver;
import dev.imagegen.queue.Job;
import dev.imagegen.queue.JobStatus;
import dev.imagegen.queue.QueueHealth;

/**
 * Operator endpoints ({@code role: service_role}): each checks the caller is an operator, reads its
 * parameters and calls {@link AdminService}, which lives in this package above the queue and the worker.
 */
@Path("/")
@Authenticated
@Tag(name = "Operators")
@SecurityRequirement(name = "bearer")
@Produces(MediaType.APPLICATION_JSON)
public class AdminResource {

    @Inject
    CallerResolver callers;

    @Inject
    AdminService admin;

    /** The seed's answer to process-jobs. */
    @RegisterForReflection
    public record ProcessJobsResponse(boolean success, int processed, int errors, String message) {
    }

    @POST
    @Path("v1/admin/process-jobs")
    @Operation(summary = "Claim due jobs now (up to the free slots), process them, answer when done")
    public Uni<ProcessJobsResponse> processJobs() {
        callers.operator();
        return admin.processJobs().map(r -> new ProcessJobsResponse(true, r.processed(), r.errors(),
                "Processed " + r.processed() + " job(s) with " + r.errors() + " error(s)"));
    }

    @POST
    @Path("functions/v1/process-jobs")
    @Operation(summary = "The seed's process-jobs route (same as POST /v1/admin/process-jobs)")
    public Uni<ProcessJobsResponse> seedProcessJobs() {
        return processJobs();
    }

    @POST
    @Path("v1/admin/jobs/rescue")
    @Operation(summary = "Return jobs whose lease expired to the queue now")
    public Uni<Map<String, Integer>> rescue() {
        callers.operator();
        return admin.rescue().map(n -> Map.of("rescued", n));
    }

    @GET
    @Path("v1/admin/queue/health")
    @Operation(summary = "queue_health with stuck jobs, error rate and alerts over their thresholds")
    public Uni<QueueHealth> health() {
        callers.operator();
        return admin.health();
    }

    @GET
    @Path("v1/admin/jobs")
    @Operation(summary = "Jobs, newest first")
    public Uni<Page<Job>> jobs(@QueryParam("status") String status, @QueryParam("job_type") String jobType,
            @QueryParam("limit") String limit, @QueryParam("cursor") String cursor) {
        callers.operator();
        JobStatus s = null;
        if (status != null) {
            s = JobStatus.parse(status).orElseThrow(() -> ApiException.invalid("status",
                    "must be one of pending, processing, completed, failed, canceled"));
        }
        if (jobType != null && (jobType.isEmpty() || jobType.length() > 64)) {
            throw ApiException.invalid("job_type", "must be 1 to 64 characters");
        }
        return admin.jobs(s, jobType, Cursor.decode(cursor), Cursor.limit(limit, 20));
    }

    @POST
    @Path("v1/admin/jobs/{id}/retry")
    @Operation(summary = "A failed or canceled job back to pending with its attempts reset")
    public Uni<Job> retry(@PathParam("id") String id) {
        callers.operator();
        return admin.retry(ResourceIds.parse(id));
    }
}
