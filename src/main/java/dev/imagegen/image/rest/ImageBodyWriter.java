package dev.imagegen.image.rest;

import java.io.OutputStream;
import java.lang.annotation.Annotation;
import java.lang.reflect.Type;
import java.util.UUID;

import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.ext.Provider;

import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.spi.ResteasyReactiveResourceInfo;
import org.jboss.resteasy.reactive.server.spi.ServerMessageBodyWriter;
import org.jboss.resteasy.reactive.server.spi.ServerRequestContext;
import org.jboss.resteasy.reactive.server.vertx.VertxResteasyReactiveRequestContext;

import io.smallrye.mutiny.Multi;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.http.HttpServerResponse;

/**
 * Streams an {@link ImageBodyWriter.Body} into the HTTP response with back-pressure (Vert.x pipes it: the
 * store is read no faster than the client takes the bytes), with its {@code Content-Length}. A storage
 * failure before the first byte becomes a problem answer; after it, the connection is closed (the client
 * sees a short body) and the failure is logged.
 */
@Provider
public class ImageBodyWriter implements ServerMessageBodyWriter<ImageBodyWriter.Body> {

    private static final Logger LOG = Logger.getLogger(ImageBodyWriter.class);

    /** A response body streamed from the store. */
    public record Body(Multi<Buffer> bytes, long length, UUID imageId) {
    }

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
