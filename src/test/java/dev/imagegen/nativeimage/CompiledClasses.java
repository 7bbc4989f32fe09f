package dev.imagegen.nativeimage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.jboss.jandex.Index;
import org.jboss.jandex.Indexer;

/** The application's compiled classes ({@code target/classes}), as files, bytes and a Jandex index. */
final class CompiledClasses {

    static final Path MAIN = Path.of("target", "classes");

    private CompiledClasses() {
    }

    static List<Path> files(Path root) {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.toString().endsWith(".class")).sorted().collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code dev/imagegen/simulator/Ids} for {@code target/classes/dev/imagegen/simulator/Ids.class}. */
    static String internalName(Path root, Path file) {
        String relative = root.relativize(file).toString().replace('\\', '/');
        return relative.substring(0, relative.length() - ".class".length());
    }

    static byte[] bytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Index index(Path root) {
        Indexer indexer = new Indexer();
        for (Path file : files(root)) {
            try (var in = Files.newInputStream(file)) {
                indexer.index(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return indexer.complete();
    }
}
