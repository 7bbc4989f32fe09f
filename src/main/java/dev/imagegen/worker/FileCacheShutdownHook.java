package dev.imagegen.worker;

import java.lang.reflect.Field;

import org.jboss.logging.Logger;

import io.vertx.core.impl.VertxInternal;

/**
 * Takes Vert.x's file-cache JVM shutdown hook out, so that storing images keeps working during the
 * shutdown grace period.
 *
 * <p>Why: Vert.x's classpath resolver (on, because Quarkus serves {@code META-INF/resources} through it)
 * registers a JVM shutdown hook that deletes its cache folder. JVM hooks run all at once on SIGTERM, so
 * that one runs while Quarkus' own hook is still giving jobs their grace period; from then on every
 * {@code vertx.fileSystem()} call on a path that does not exist yet (each temporary file of the
 * filesystem image store) fails with "cacheDir has been removed. FileResolver is closing?", and every job
 * that was storing its output failed and spent an attempt (FaultsIT found it). Without the hook, the cache
 * folder is still deleted: Quarkus closes Vert.x at the end of its shutdown, and closing the resolver
 * deletes it. Vert.x internals, reached by reflection: if they change, this logs and does nothing.
 */
final class FileCacheShutdownHook {

    private static final Logger LOG = Logger.getLogger(FileCacheShutdownHook.class);

    private FileCacheShutdownHook() {
    }

    /** Removes the hook; false (logged) when there was none or Vert.x no longer looks as expected. */
    static boolean detach(io.vertx.core.Vertx vertx) {
        try {
            Object resolver = ((VertxInternal) vertx).fileResolver();
            Object cache = field(resolver, "cache").get(resolver);
            if (cache == null) {
                return false; // classpath resolving is off: no cache, no hook
            }
            Field hookField = field(cache, "shutdownHook");
            synchronized (cache) {
                Thread hook = (Thread) hookField.get(cache);
                if (hook == null) {
                    return false;
                }
                Runtime.getRuntime().removeShutdownHook(hook);
                hookField.set(cache, null);
            }
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warnf("Could not take Vert.x's file-cache shutdown hook out (%s): images being stored when SIGTERM "
                    + "arrives may fail and be retried", e.toString());
            return false;
        }
    }

    private static Field field(Object owner, String name) throws NoSuchFieldException {
        Field f = owner.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }
}
