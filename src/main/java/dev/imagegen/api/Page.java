package dev.imagegen.api;

import java.util.List;

import io.quarkus.runtime.annotations.RegisterForReflection;

/** One page of a newest-first list; {@code next_cursor} is null on the last page. */
@RegisterForReflection
public record Page<T>(List<T> items, String nextCursor) {
}
