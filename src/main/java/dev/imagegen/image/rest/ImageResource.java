package dev.imagegen.image.rest;

import java.io.OutputStream;
import java.lang.annotation.Annotation;
import java.lang.reflect.Type;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HEAD;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.Provider;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.spi.ResteasyReactiveResourceInfo;
import org.jboss.resteasy.reactive.server.spi.ServerMessageBodyWriter;
import org.jboss.resteasy.reactive.server.spi.ServerRequestContext;
import org.jboss.resteasy.reactive.server.vertx.VertxResteasyReactiveRequestContext;

import io.quarkus.security.identity.CurrentIdentityAssociation;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.http.HttpServerResponse;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.ProblemType;
import dev.imagegen.api.ResourceIds;
import dev.imagegen.auth.CallerResolver;
import dev.imagegen.image.Image;
import dev.imagegen.image.ImageAccess;
import dev.imagegen.storage.ImageStore;
import dev.imagegen.storage.ImageStore.StoredObject;

/**
 * {@code GET|HEAD /v1/images/{id}/content}: an image's bytes, streamed from the store.
 *
 * <p><b>Access.</b> Either a signed link ({@code ?expires=…&sig=…}, as {@code images[].url} gives; a bad or
 * expired one is a 403, and an {@code Authorization} header is then ignored), or, without a signature, a
 * bearer token of the owner (or an operator). Another user's image is a 404, like an unknown id. The
 * class is not {@code @Authenticated}: a signed link carries no token, so the token is only asked for
 * (lazily, proactive authentication being off) when there is no signature.
 *
 * <p><b>Caching and ranges.</b> Strong {@code ETag} {@code "<sha256>"}; {@code If-None-Match} (a list, weak
 * tags, or {@code *}) → 304. One range per request: {@code bytes=a-b}, {@code bytes=a-} or {@code bytes=-n}
 * → 206 with {@code Content-Range}; a range that starts past the end, or a malformed one (such as
 * {@code b < a}), → 416 with {@code Content-Range: bytes *&#47;size}. Several ranges ({@code bytes=0-1,5-6})
 * and units other than bytes are ignored: the whole image, 200 (multipart/byteranges is not worth its
 * complexity for images). An {@code If-Range} other than the current strong ETag also sends the whole
 * image. HEAD answers the same status and headers as GET, without the bytes.
 */
@Path("/")
@Tag(name = "Images")
public class ImageResource {

    private static final Logger LOG = Logger.getLogger(ImageResource.class);

    /** The bytes behind an image id never change: private (per user), cacheable for an hour. */
    static final String CACHE_CONTROL = "private, max-age=3600";

    /** Raster types a browser may render inline; anything else (octet-stream, SVG, HTML) is a download. */
    static final Set<String> INLINE_TYPES = Set.of("image/png", "image/jpeg", "image/webp", "image/gif", "image/avif");

    @Inject
    ImageAccess access;

    @Inject
    ImageStore store;

    @Inject
    CallerResolver callers;

    @Inject
    CurrentIdentityAssociation identities;

    @GET
    @Path("v1/images/{id}/content")
    @Operation(summary = "An image's bytes", description = """
            Access with the signed link from images[].url (no header needed), or with the owner's bearer token. \
            Strong ETag (the sha256), If-None-Match → 304, one byte range per request → 206 (several ranges: \
            the whole image, 200), unsatisfiable range → 416.""")
    public Uni<Response> content(@PathParam("id") String id, @QueryParam("expires") String expires,
            @QueryParam("sig") String sig, @HeaderParam(HttpHeaders.IF_NONE_MATCH) String ifNoneMatch,
            @HeaderParam("Range") String range, @HeaderParam("If-Range") String ifRange) {
        return serve(id, expires, sig, new Conditions(ifNoneMatch, range, ifRange), true);
    }

    @HEAD
    @Path("v1/images/{id}/content")
    @Operation(summary = "An image's headers (as GET, without the bytes)")
    public Uni<Response> head(@PathParam("id") String id, @QueryParam("expires") String expires,
            @QueryParam("sig") String sig, @HeaderParam(HttpHeaders.IF_NONE_MATCH) String ifNoneMatch,
            @HeaderParam("Range") String range, @HeaderParam("If-Range") String ifRange) {
        return serve(id, expires, sig, new Conditions(ifNoneMatch, range, ifRange), false);
    }

    private record Conditions(String ifNoneMatch, String range, String ifRange) {
    }

    private Uni<Response> serve(String rawId, String expires, String sig, Conditions conditions, boolean withBody) {
        UUID id = ResourceIds.parse(rawId);
        Uni<Image> found = expires != null || sig != null ? access.bySignedLink(id, expires, sig) : byBearer(id);
        return found.flatMap(image -> store.stat(image.storageKey()).map(stored -> {
            if (stored == null) {
                LOG.warnf("Image %s (generation %s): object %s is missing from storage", id,
                        image.generationId(), image.storageKey());
                throw ApiException.notFound("Image " + id);
            }
            return respond(image, stored, conditions, withBody);
        }));
    }

    /** Authenticates now (lazily): an invalid token fails with 401, and so does no token at all. */
    private Uni<Image> byBearer(UUID id) {
        return identities.getDeferredIdentity().flatMap(identity -> {
            if (identity.isAnonymous()) {
                throw ApiException.unauthorized("A signed link (expires, sig) or a bearer token is required.");
            }
            // CallerResolver reads the token through the current identity: keep it resolved for this IO thread.
            identities.setIdentity(identity);
            return access.forCaller(id, callers.caller());
        });
    }

    private Response respond(Image image, StoredObject stored, Conditions c, boolean withBody) {
        long size = stored.size();
        String etag = '"' + image.sha256() + '"';
        String type = image.contentType() != null ? image.contentType() : stored.contentType();
        if (c.ifNoneMatch() != null && noneMatchHits(c.ifNoneMatch(), image.sha256())) {
            return Response.notModified()
                    .header(HttpHeaders.ETAG, etag)
                    .header(HttpHeaders.CACHE_CONTROL, CACHE_CONTROL)
                    .header("X-Content-Type-Options", "nosniff")
                    .build();
        }
        ByteRange range = c.range() == null || (c.ifRange() != null && !c.ifRange().trim().equals(etag))
                ? null
                : ByteRange.parse(c.range(), size);
        if (range != null && !range.satisfiable()) {
            throw new ApiException(ProblemType.RANGE_NOT_SATISFIABLE,
                    "The range '" + printable(c.range()) + "' cannot be served from " + size + " bytes.", null,
                    Map.of("Content-Range", "bytes */" + size, "Accept-Ranges", "bytes"));
        }
        long offset = range == null ? 0 : range.first();
        long length = range == null ? size : range.length();
        boolean inline = inline(type);
        Response.ResponseBuilder rb = Response.status(range == null ? 200 : 206)
                .type(inline ? type : MediaType.APPLICATION_OCTET_STREAM)
                // Never let a browser guess a type: stored bytes are someone else's output.
                .header("X-Content-Type-Options", "nosniff")
                .header("Content-Disposition", inline ? "inline" : "attachment; filename=\"" + image.id() + "\"")
                .header(HttpHeaders.ETAG, etag)
                .header(HttpHeaders.CACHE_CONTROL, CACHE_CONTROL)
                .header("Accept-Ranges", "bytes")
                .header(HttpHeaders.CONTENT_LENGTH, length);
        if (range != null) {
            rb.header("Content-Range", "bytes " + range.first() + "-" + range.last() + "/" + size);
        }
        if (withBody) {
            rb.entity(new Body(store.read(image.storageKey(), offset, length), length, image.id()));
        }
        return rb.build();
    }

    /** Whether a stored content type is a raster image a browser may show in place (parameters ignored). */
    static boolean inline(String type) {
        if (type == null) {
            return false;
        }
        int semicolon = type.indexOf(';');
        String bare = (semicolon < 0 ? type : type.substring(0, semicolon)).trim().toLowerCase(Locale.ROOT);
        return INLINE_TYPES.contains(bare);
    }

    /**
     * Whether an {@code If-None-Match} value names this representation: {@code *}, or any entity tag
     * (weak or strong: RFC 9110 compares weakly here) whose opaque part is the sha256.
     */
    static boolean noneMatchHits(String header, String sha256) {
        int i = 0;
        int n = header.length();
        while (i < n) {
            char ch = header.charAt(i);
            if (ch == ' ' || ch == '\t' || ch == ',') {
                i++;
            } else if (ch == '*') {
                return true;
            } else {
                if (header.startsWith("W/", i)) {
                    i += 2;
                }
                if (i >= n || header.charAt(i) != '"') {
                    return false; // malformed: no match, the full answer follows
                }
                int end = header.indexOf('"', i + 1);
                if (end < 0) {
                    return false;
                }
                if (header.substring(i + 1, end).equals(sha256)) {
                    return true;
                }
                i = end + 1;
            }
        }
        return false;
    }

    /**
     * One byte range resolved against the size. {@link #parse} answers null for a header to ignore (another
     * unit, several ranges), and {@link #UNSATISFIABLE} for one to refuse with 416.
     */
    record ByteRange(long first, long last) {

        static final ByteRange UNSATISFIABLE = new ByteRange(-1, -1);

        boolean satisfiable() {
            return first >= 0;
        }

        long length() {
            return last - first + 1;
        }

        static ByteRange parse(String header, long size) {
            String h = header.trim();
            int eq = h.indexOf('=');
            if (eq < 0 || !h.substring(0, eq).trim().equalsIgnoreCase("bytes")) {
                return null;
            }
            String spec = h.substring(eq + 1).trim();
            if (spec.indexOf(',') >= 0) {
                return null;
            }
            int dash = spec.indexOf('-');
            if (dash < 0) {
                return UNSATISFIABLE;
            }
            String a = spec.substring(0, dash).trim();
            String b = spec.substring(dash + 1).trim();
            if (a.isEmpty()) {
                // bytes=-n: the last n bytes (all of them when n exceeds the size)
                long n = digits(b);
                if (n <= 0 || size == 0) {
                    return UNSATISFIABLE;
                }
                return new ByteRange(Math.max(0, size - n), size - 1);
            }
            long first = digits(a);
            long last = b.isEmpty() ? Long.MAX_VALUE : digits(b);
            if (first < 0 || last < 0 || last < first || first >= size) {
                return UNSATISFIABLE;
            }
            return new ByteRange(first, Math.min(last, size - 1));
        }

        /** A non-negative decimal; -1 when it is not one; Long.MAX_VALUE when it does not fit. */
        private static long digits(String s) {
            if (s.isEmpty()) {
                return -1;
            }
            for (int i = 0; i < s.length(); i++) {
                if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                    return -1;
                }
            }
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException e) {
                return Long.MAX_VALUE;
            }
        }
    }

    private static String printable(String s) {
        String t = s.length() > 64 ? s.substring(0, 64) + "…" : s;
        return t.replaceAll("[^\\x20-\\x7e…]", "?");
    }

    /** A response body streamed from the store; written by {@link BodyWriter}. */
    public record Body(Multi<Buffer> bytes, long length, UUID imageId) {
    }

    /**
     * Streams a {@link Body} into the HTTP response with back-pressure (Vert.x pipes it: the store is read
     * no faster than the client takes the bytes), with its {@code Content-Length}. A storage failure before
     * the first byte becomes a problem answer; after it, the connection is closed (the client sees a short
     * body) and the failure is logged.
     */
    @Provider
    public static class BodyWriter implements ServerMessageBodyWriter<Body> {

        @Override
        public boolean isWriteable(Class<?> type, Type genericType, ResteasyReactiveResourceInfo target, MediaType mediaType) {
            return Body.class.isAssignableFrom(type);
        }

        @Override
        public boolean isWriteable(Class<?> type, Type genericType, Annotation[] annotations, MediaType mediaType) {
            return Body.class.isAssignableFrom(type);
        }

        @Override
        public void writeResponse(Body body, Type genericType, ServerRequestContext context) {
            VertxResteasyReactiveRequestContext ctx = (VertxResteasyReactiveRequestContext) context;
            ctx.suspend();
            io.vertx.core.http.HttpServerResponse raw = ctx.vertxServerResponse();
            raw.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(body.length()));
            HttpServerResponse.newInstance(raw).send(body.bytes()).subscribe().with(
                    ok -> ctx.resume(),
                    failure -> {
                        if (!raw.headWritten()) {
                            ctx.resume(failure);
                            return;
                        }
                        LOG.warnf("Image %s: streaming failed after the headers were sent (%s); closing the connection",
                                body.imageId(), failure.getMessage());
                        if (!raw.closed()) {
                            raw.reset();
                        }
                        ctx.resume();
                    });
        }

        @Override
        public void writeTo(Body body, Class<?> type, Type genericType, Annotation[] annotations, MediaType mediaType,
                MultivaluedMap<String, Object> httpHeaders, OutputStream entityStream) {
            throw new UnsupportedOperationException("An image body cannot go through a WriterInterceptor");
        }
    }
}
