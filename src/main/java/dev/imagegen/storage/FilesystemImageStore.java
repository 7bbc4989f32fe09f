package dev.imagegen.storage;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.file.CopyOptions;
import io.vertx.core.file.OpenOptions;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.file.AsyncFile;
import io.vertx.mutiny.core.file.FileSystem;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * {@link ImageStore} on a local (or mounted) folder, through the Vert.x non-blocking {@link FileSystem}.
 *
 * <p>Layout under the root folder:
 * <ul>
 *   <li>{@code <root>/<key>}: the object's bytes;</li>
 *   <li>{@code <root>/<key>.meta}: a sidecar holding the content type given to {@link #put}, as one
 *       UTF-8 line. When it is missing (for example a file copied in by hand), {@link #stat} derives
 *       the type from the key's extension ({@code .png}, {@code .jpg}/{@code .jpeg}, {@code .webp},
 *       else {@code application/octet-stream});</li>
 *   <li>{@code <root>/.tmp/<random>}: bodies being written. A file there is never visible under a
 *       key; leftovers of a crash can be deleted at any time.</li>
 * </ul>
 *
 * <p>Keys are one or more {@code /}-separated segments of letters, digits, {@code .}, {@code _} and
 * {@code -}; a segment may not start with a dot (so neither {@code .} nor {@code ..} nor the
 * {@code .tmp} folder can be named), the key may not end with {@code .meta}, and it is at most 512
 * characters. Any other key (absolute, with a backslash, an empty segment, ...) is refused with an
 * {@link IllegalArgumentException}, delivered as the failure of the returned {@code Uni}/{@code Multi}.
 *
 * <p>{@link #put} writes the body with back-pressure (one chunk in flight at a time), forces it to
 * disk ({@code fsync}), closes it, then renames it over the final path (atomically, on the same file
 * system). The sidecar is renamed into place just before the data, so a concurrent {@link #stat} on an
 * object being replaced may briefly see the new type with the old bytes; the containing folder
 * itself is not fsynced.
 */
public class FilesystemImageStore implements ImageStore {

    static final String META_SUFFIX = ".meta";
    static final String TMP_DIR = ".tmp";

    private static final int MAX_KEY_LENGTH = 512;
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]*");
    private static final int READ_BUFFER_SIZE = 64 * 1024;
    private static final int MAX_META_BYTES = 1024;

    private final FileSystem fs;
    private final Path root;
    private final Path tmpDir;

    public FilesystemImageStore(Vertx vertx, String rootDir) {
        Objects.requireNonNull(vertx, "vertx");
        Objects.requireNonNull(rootDir, "rootDir");
        if (rootDir.isBlank()) {
            throw new IllegalArgumentException("the storage root folder must not be blank");
        }
        this.fs = vertx.fileSystem();
        this.root = Path.of(rootDir).toAbsolutePath().normalize();
        this.tmpDir = root.resolve(TMP_DIR);
    }

    /** The absolute, normalised root folder. */
    public Path root() {
        return root;
    }

    @Override
    public Uni<Long> put(String key, String contentType, Multi<Buffer> body) {
        Path target;
        try {
            target = resolve(key);
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().failure(e);
        }
        Objects.requireNonNull(body, "body");
        String type = ContentTypes.sanitize(contentType);
        String name = UUID.randomUUID().toString();
        String tmp = tmpDir.resolve(name).toString();
        String tmpMeta = tmpDir.resolve(name + META_SUFFIX).toString();

        return Uni.createFrom().deferred(() -> {
            AsyncFile[] opened = new AsyncFile[1];
            return fs.mkdirs(tmpDir.toString())
                    .chain(() -> fs.open(tmp, new OpenOptions().setWrite(true).setCreateNew(true).setRead(false)))
                    .invoke(file -> opened[0] = file)
                    .chain(file -> writeAll(file, body)
                            .call(() -> file.flush())
                            .call(() -> {
                                opened[0] = null;
                                return file.close();
                            }))
                    .call(() -> fs.writeFile(tmpMeta, Buffer.buffer(type + "\n", "UTF-8")))
                    .call(() -> fs.mkdirs(target.getParent().toString()))
                    .call(() -> fs.move(tmpMeta, metaPath(target).toString(), replace()))
                    .call(() -> fs.move(tmp, target.toString(), replace()))
                    .onFailure().call(() -> cleanUp(opened[0], tmp, tmpMeta))
                    .onCancellation().call(() -> cleanUp(opened[0], tmp, tmpMeta));
        });
    }

    @Override
    public Uni<StoredObject> stat(String key) {
        Path path;
        try {
            path = resolve(key);
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().failure(e);
        }
        return fs.props(path.toString())
                .onFailure(FilesystemImageStore::isNoSuchFile).recoverWithNull()
                .chain(props -> {
                    if (props == null || !props.isRegularFile()) {
                        return Uni.createFrom().nullItem();
                    }
                    return readContentType(path)
                            .map(type -> new StoredObject(key, props.size(), type));
                });
    }

    @Override
    public Multi<Buffer> read(String key, long offset, long length) {
        Path path;
        try {
            path = resolve(key);
        } catch (IllegalArgumentException e) {
            return Multi.createFrom().failure(e);
        }
        if (offset < 0 || length < 0) {
            return Multi.createFrom().failure(new IllegalArgumentException(
                    "invalid range: offset " + offset + ", length " + length));
        }
        if (length == 0) {
            return Multi.createFrom().empty();
        }
        return Multi.createFrom()
                .resourceFromUni(
                        () -> fs.open(path.toString(), new OpenOptions().setRead(true).setWrite(false).setCreate(false)),
                        file -> file.setReadBufferSize(READ_BUFFER_SIZE)
                                .setReadPos(offset)
                                .setReadLength(length)
                                .toMulti())
                .withFinalizer((AsyncFile file) -> file.close().onFailure().recoverWithNull());
    }

    @Override
    public Uni<Void> delete(String key) {
        Path path;
        try {
            path = resolve(key);
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().failure(e);
        }
        return deleteIfExists(path.toString())
                .call(() -> deleteIfExists(metaPath(path).toString()));
    }

    /**
     * Validates {@code key} and maps it to a path under the root.
     *
     * @throws IllegalArgumentException when the key is not allowed (see the class comment)
     */
    Path resolve(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("a storage key must not be empty");
        }
        if (key.length() > MAX_KEY_LENGTH) {
            throw new IllegalArgumentException("a storage key must be at most " + MAX_KEY_LENGTH + " characters");
        }
        if (key.endsWith(META_SUFFIX)) {
            throw new IllegalArgumentException("a storage key must not end with " + META_SUFFIX);
        }
        for (String segment : key.split("/", -1)) {
            if (!SEGMENT.matcher(segment).matches()) {
                throw new IllegalArgumentException("invalid storage key '" + printable(key)
                        + "': segments are letters, digits, '.', '_' and '-', not starting with '.'");
            }
        }
        Path path = root.resolve(key).normalize();
        if (!path.startsWith(root) || path.equals(root) || path.startsWith(tmpDir)) {
            throw new IllegalArgumentException("invalid storage key '" + printable(key) + "'");
        }
        return path;
    }

    private Uni<Long> writeAll(AsyncFile file, Multi<Buffer> body) {
        AtomicLong written = new AtomicLong();
        // Concatenation keeps one write in flight and requests the next chunk only once it is done:
        // the body is pulled no faster than the disk takes it.
        return body
                .onItem().transformToUniAndConcatenate(chunk -> {
                    written.addAndGet(chunk.length());
                    return file.write(chunk);
                })
                .onItem().ignoreAsUni()
                .map(ignored -> written.get());
    }

    private Uni<Void> cleanUp(AsyncFile file, String tmp, String tmpMeta) {
        Uni<Void> close = file == null
                ? Uni.createFrom().voidItem()
                : file.close().onFailure().recoverWithNull();
        return close
                .call(() -> deleteIfExists(tmp).onFailure().recoverWithNull())
                .call(() -> deleteIfExists(tmpMeta).onFailure().recoverWithNull());
    }

    private Uni<String> readContentType(Path path) {
        String meta = metaPath(path).toString();
        return fs.props(meta)
                .onFailure(FilesystemImageStore::isNoSuchFile).recoverWithNull()
                .chain(props -> {
                    if (props == null || !props.isRegularFile() || props.size() > MAX_META_BYTES) {
                        return Uni.createFrom().item(typeFromExtension(path));
                    }
                    return fs.readFile(meta)
                            .onFailure(FilesystemImageStore::isNoSuchFile).recoverWithNull()
                            .map(buffer -> {
                                String type = buffer == null ? "" : buffer.toString(StandardCharsets.UTF_8).trim();
                                return type.isEmpty() ? typeFromExtension(path) : type;
                            });
                });
    }

    private Uni<Void> deleteIfExists(String path) {
        return fs.delete(path).onFailure(FilesystemImageStore::isNoSuchFile).recoverWithNull();
    }

    private static Path metaPath(Path path) {
        return path.resolveSibling(path.getFileName().toString() + META_SUFFIX);
    }

    private static CopyOptions replace() {
        return new CopyOptions().setReplaceExisting(true).setAtomicMove(true);
    }

    static String typeFromExtension(Path path) {
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".png")) {
            return "image/png";
        }
        if (name.endsWith(".jpg") || name.endsWith(".jpeg")) {
            return "image/jpeg";
        }
        if (name.endsWith(".webp")) {
            return "image/webp";
        }
        return ContentTypes.OCTET_STREAM;
    }

    private static boolean isNoSuchFile(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof NoSuchFileException) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    private static String printable(String key) {
        StringBuilder sb = new StringBuilder(Math.min(key.length(), 80));
        for (int i = 0; i < key.length() && i < 80; i++) {
            char c = key.charAt(i);
            sb.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return sb.toString();
    }
}
