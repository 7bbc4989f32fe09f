package dev.imagegen.storage;

/** The content type a store records: what the caller gave when it is a plain header value, else octet-stream. */
final class ContentTypes {

    static final String OCTET_STREAM = "application/octet-stream";

    private ContentTypes() {
    }

    /** {@code contentType} trimmed, or {@link #OCTET_STREAM} when blank, over 255 characters or not printable ASCII. */
    static String sanitize(String contentType) {
        if (contentType == null || contentType.isBlank() || contentType.length() > 255) {
            return OCTET_STREAM;
        }
        for (int i = 0; i < contentType.length(); i++) {
            char c = contentType.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return OCTET_STREAM;
            }
        }
        return contentType.trim();
    }
}
