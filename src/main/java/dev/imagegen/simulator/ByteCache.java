package dev.imagegen.simulator;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** A least-recently-used cache of rendered files, bounded by total bytes. Thread-safe. */
final class ByteCache {

    private final LinkedHashMap<String, byte[]> entries = new LinkedHashMap<>(64, 0.75f, true);
    private long maxBytes;
    private long bytes;

    ByteCache(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    synchronized byte[] get(String key) {
        return entries.get(key);
    }

    synchronized void put(String key, byte[] value) {
        if (value.length > maxBytes) {
            return;
        }
        byte[] old = entries.put(key, value);
        bytes += value.length - (old == null ? 0 : old.length);
        evict();
    }

    /** Removes every entry whose key starts with {@code prefix}. */
    synchronized void removePrefix(String prefix) {
        Iterator<Map.Entry<String, byte[]>> it = entries.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, byte[]> e = it.next();
            if (e.getKey().startsWith(prefix)) {
                bytes -= e.getValue().length;
                it.remove();
            }
        }
    }

    synchronized void maxBytes(long maxBytes) {
        this.maxBytes = maxBytes;
        evict();
    }

    synchronized void clear() {
        entries.clear();
        bytes = 0;
    }

    synchronized long bytes() {
        return bytes;
    }

    private void evict() {
        Iterator<Map.Entry<String, byte[]>> it = entries.entrySet().iterator();
        while (bytes > maxBytes && it.hasNext()) {
            bytes -= it.next().getValue().length;
            it.remove();
        }
    }
}
