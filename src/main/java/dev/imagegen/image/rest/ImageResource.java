package dev.imagegen.image.rest;

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
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import io.smallrye.mutiny.Uni;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.ProblemType;
import dev.imagegen.api.ResourceIds;
import dev.imagegen.auth.CallerResolver;
import dev.imagegen.image.Image;
import dev.imagegen.image.ImageService;
import dev.imagegen.image.ImageService.StoredImage;

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

    /** The bytes behind an image id never change: private (per user), cacheable for an hour. */
    static final String CACHE_CONTROL = "private, max-age=3600";

    /** Raster types a browser may render inline; anything else (octet-stream, SVG, HTML) is a download. */
    static final Set<String> INLINE_TYPES = Set.of("image/png", "image/jpeg", "image/webp", "image/gif", "image/avif");

    @Inject
    ImageService images;

    @Inject
    CallerResolver callers;

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
        Uni<StoredImage> found = expires != null || sig != null
                ? images.bySignedLink(id, expires, sig)
                : callers.authenticate("A signed link (expires, sig) or a bearer token is required.")
                        .flatMap(caller -> images.forCaller(id, caller));
        return found.map(s -> respond(s, conditions, withBody));
    }

    private Response respond(StoredImage found, Conditions c, boolean withBody) {
        Image image = found.image();
        long size = found.stored().size();
        String etag = '"' + image.sha256() + '"';
        String type = image.contentType() != null ? image.contentType() : found.stored().contentType();
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
            rb.entity(new ImageBodyWriter.Body(images.read(image, offset, length), length, image.id()));
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

    private static String printable(String s) {
        String t = s.length() > 64 ? s.substring(0, 64) + "…" : s;
        return t.replaceAll("[^\\x20-\\x7e…]", "?");
    }
}
