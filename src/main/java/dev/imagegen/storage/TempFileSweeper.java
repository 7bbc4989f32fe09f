package dev.imagegen.storage;

import dev.imagegen.config.ImagegenConfig;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.file.FileSystem;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * Removes abandoned temporary files of the filesystem store ({@code <dir>/.tmp}). {@link FilesystemImageStore#put}
 * deletes its temporary file when a write fails, but it cannot when the file is no longer reachable by its
 * path: the storage folder was replaced or hidden by another mount under a running write (found by the fault
 * suite, RELIABILITY.md case 7), or the process died mid-write. Such files would hold their space forever.
 *
 * <p>A live write touches its file at least once per {@code imagegen.download.read-timeout} (a download that
 * sends nothing for that long fails), so a file untouched for twice that long belongs to no running write.
 * Runs every {@code imagegen.storage.tmp-sweep-interval} (default 1m; set it as the environment variable
 * {@code IMAGEGEN_STORAGE_TMP_SWEEP_INTERVAL}), without blocking: the Vert.x file system throughout.
 */
@ApplicationScoped
public class TempFileSweeper {

    private static final Logger LOG = Logger.getLogger(TempFileSweeper.class);

    @Inject
    ImagegenConfig config;

    @Inject
    Vertx vertx;

    @Scheduled(every = "${imagegen.storage.tmp-sweep-interval:1m}", delayed = "10s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> scheduled() {
        if (!"filesystem".equals(config.storage().backend().strip().toLowerCase(Locale.ROOT))) {
            return Uni.createFrom().voidItem();
        }
        Path tmp = Path.of(config.storage().dir()).toAbsolutePath().normalize().resolve(FilesystemImageStore.TMP_DIR);
        return sweep(vertx.fileSystem(), tmp.toString(), config.download().readTimeout().multipliedBy(2))
                .invoke(n -> {
                    if (n > 0) {
                        LOG.infof("removed %d abandoned temporary file(s) from %s", n, tmp);
                    }
                })
                .onFailure().invoke(e -> LOG.warnf("sweeping %s failed: %s", tmp, e.toString()))
                .onFailure().recoverWithNull()
                .replaceWithVoid();
    }

    /** Deletes the files in {@code dir} not modified for {@code maxIdle}; the number deleted. */
    static Uni<Integer> sweep(FileSystem fs, String dir, Duration maxIdle) {
        long cutoff = System.currentTimeMillis() - maxIdle.toMillis();
        AtomicInteger deleted = new AtomicInteger();
        return fs.exists(dir).chain(exists -> {
            if (!exists) {
                return Uni.createFrom().item(0);
            }
            return fs.readDir(dir)
                    .onItem().transformToMulti(files -> Multi.createFrom().iterable(files))
                    .onItem().transformToUniAndConcatenate(file -> fs.props(file)
                            .chain(props -> props.isRegularFile() && props.lastModifiedTime() < cutoff
                                    ? fs.delete(file).invoke(() -> deleted.incrementAndGet())
                                    : Uni.createFrom().voidItem())
                            // gone meanwhile (its write ended), or not deletable now: the next sweep tries again
                            .onFailure().recoverWithNull())
                    .collect().last()
                    .map(x -> deleted.get());
        });
    }
}
