package dev.imagegen.security;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, byte for byte as written: duplicated or oversized headers, a raw
 * request target, a chunked body without Content-Length, invalid UTF-8. java.net.http refuses most of
 * these. Every request says {@code Connection: close}, so the answer ends where the stream does; every
 * read has a timeout.
 */
final class RawHttp {

    /** The longest a hostile request may take to be answered before the row fails. */
    static final int TIMEOUT_MILLIS = 30_000;

    private RawHttp() {
    }

    /** One request as it goes on the wire. {@code headers} are name/value pairs, duplicates allowed. */
    record Request(String method, String target, List<String[]> headers, byte[] body, boolean chunked) {

        byte[] head(int port) {
            StringBuilder sb = new StringBuilder();
            sb.append(method).append(' ').append(target).append(" HTTP/1.1\r\n");
            sb.append("Host: 127.0.0.1:").append(port).append("\r\n");
            sb.append("Connection: close\r\n");
            for (String[] h : headers) {
                sb.append(h[0]).append(": ").append(h[1]).append("\r\n");
            }
            if (body != null && chunked) {
                sb.append("Transfer-Encoding: chunked\r\n");
            } else if (body != null) {
                sb.append("Content-Length: ").append(body.length).append("\r\n");
            }
            sb.append("\r\n");
            return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
        }
    }

    /** The answer: status, headers (lower-case names, last value wins) and the body, de-chunked. */
    record Response(int status, Map<String, String> headers, byte[] body) {

        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    static Response send(int port, Request request) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            try {
                out.write(request.head(port));
                if (request.body() != null) {
                    writeBody(out, request);
                }
                out.flush();
            } catch (SocketException e) {
                // The server may answer (413) and close before it has read everything: read that answer.
            }
            return parse(readAll(socket.getInputStream()));
        }
    }

    private static void writeBody(OutputStream out, Request request) throws IOException {
        byte[] body = request.body();
        if (!request.chunked()) {
            out.write(body);
            return;
        }
        int chunk = 8192;
        for (int i = 0; i < body.length; i += chunk) {
            int n = Math.min(chunk, body.length - i);
            out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body, i, n);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try {
            for (int n; (n = in.read(buf)) >= 0;) {
                all.write(buf, 0, n);
            }
        } catch (SocketException e) {
            // a reset after the answer was sent: keep what arrived
            if (all.size() == 0) {
                throw e;
            }
        }
        return all.toByteArray();
    }

    static Response parse(byte[] raw) throws IOException {
        int end = indexOf(raw, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0);
        if (end < 0) {
            throw new IOException("no complete answer (" + raw.length + " bytes)");
        }
        String[] lines = new String(raw, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
        }
        byte[] body = java.util.Arrays.copyOfRange(raw, end + 4, raw.length);
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = dechunk(body);
        }
        return new Response(status, headers, body);
    }

    private static byte[] dechunk(byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < body.length) {
            int eol = indexOf(body, "\r\n".getBytes(StandardCharsets.US_ASCII), i);
            int size = Integer.parseInt(new String(body, i, eol - i, StandardCharsets.US_ASCII).split(";")[0].trim(), 16);
            if (size == 0) {
                break;
            }
            out.write(body, eol + 2, size);
            i = eol + 2 + size + 2;
        }
        return out.toByteArray();
    }

    private static int indexOf(byte[] data, byte[] pattern, int from) {
        outer:
        for (int i = from; i <= data.length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (data[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** Header pairs from a flat list: name, value, name, value. */
    static List<String[]> pairs(String... nameValues) {
        List<String[]> out = new ArrayList<>();
        for (int i = 0; i + 1 < nameValues.length; i += 2) {
            out.add(new String[] { nameValues[i], nameValues[i + 1] });
        }
        return out;
    }
}
