package dev.imagegen.worker.download;

import dev.imagegen.replicate.JobException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which output URLs may be fetched, decided before any connection is made (a refused host is never
 * contacted). The host must equal an allowed host or be a subdomain of one (case-insensitive, trailing
 * dots ignored); the scheme must be {@code https}, or {@code http} for a loopback host
 * ({@code localhost}, {@code 127.0.0.0/8}, {@code ::1}, recognised without any DNS lookup); URLs with
 * user-info are refused. Every refusal is a PERMANENT {@link JobException}. Redirect targets go through
 * the same {@link #check(URI)}.
 */
public final class UrlPolicy {

    private static final Pattern IPV4_LOOPBACK = Pattern.compile("127\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");

    /** A checked request target: where to connect and what to ask for. */
    public record Target(URI uri, String host, int port, boolean ssl, String requestUri) {

        /** The host as it may be shown in a message: printable ASCII, at most 100 characters. */
        String shownHost() {
            return printable(host);
        }
    }

    private final List<String> allowedHosts;

    /**
     * @param allowedHosts hosts outputs may come from; each also allows its subdomains. Entries are
     *        trimmed and lower-cased, {@code *.} and leading or trailing dots dropped, blanks and
     *        repeats skipped.
     */
    public UrlPolicy(List<String> allowedHosts) {
        this.allowedHosts = normalizeAllowList(Objects.requireNonNull(allowedHosts, "allowedHosts"));
    }

    /** The normalised allow-list in use. */
    public List<String> allowedHosts() {
        return allowedHosts;
    }

    /**
     * Parses and checks {@code url} against the allow-list and the scheme rule.
     *
     * @throws JobException PERMANENT when the URL may not be fetched
     */
    public Target check(String url) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw JobException.permanent("the output URL is not a valid URL");
        }
        return check(uri);
    }

    /**
     * Checks an already parsed URI (a redirect's resolved {@code Location}).
     *
     * @throws JobException PERMANENT when the URI may not be fetched
     */
    public Target check(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http")) {
            throw JobException.permanent("the output URL scheme '" + printable(scheme) + "' is not supported: use https");
        }
        if (uri.getRawUserInfo() != null) {
            throw JobException.permanent("output URLs with credentials are not allowed");
        }
        String host = normalizeHost(uri.getHost());
        if (host.isEmpty()) {
            throw JobException.permanent("the output URL has no valid host");
        }
        if (!isAllowedHost(host)) {
            throw JobException.permanent("the output host '" + printable(host) + "' is not in the allowed output hosts");
        }
        boolean ssl = scheme.equals("https");
        if (!ssl && !isLoopback(host)) {
            throw JobException.permanent("the output host '" + printable(host) + "' must be fetched over https");
        }
        int port = uri.getPort() == -1 ? (ssl ? 443 : 80) : uri.getPort();
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        String requestUri = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
        return new Target(uri, host, port, ssl, requestUri);
    }

    /** Whether a normalised host equals an allowed host or is a subdomain of one. */
    public boolean isAllowedHost(String host) {
        for (String allowed : allowedHosts) {
            if (host.equals(allowed) || host.endsWith("." + allowed)) {
                return true;
            }
        }
        return false;
    }

    /** Loopback by name or literal only: never a DNS lookup. */
    public static boolean isLoopback(String host) {
        if (host.equals("localhost")) {
            return true;
        }
        Matcher m = IPV4_LOOPBACK.matcher(host);
        if (m.matches()) {
            for (int i = 1; i <= 3; i++) {
                if (Integer.parseInt(m.group(i)) > 255) {
                    return false;
                }
            }
            return true;
        }
        if (host.indexOf(':') >= 0) {
            // An IPv6 literal (a host name cannot hold ':'), so this parses without any lookup.
            try {
                return InetAddress.getByName(host).isLoopbackAddress();
            } catch (UnknownHostException e) {
                return false;
            }
        }
        return false;
    }

    /** {@code s} cut to 100 characters, with anything but printable ASCII shown as {@code ?}. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder(Math.min(s.length(), 100));
        for (int i = 0; i < s.length() && i < 100; i++) {
            char c = s.charAt(i);
            sb.append(c < 0x20 || c > 0x7e ? '?' : c);
        }
        return sb.toString();
    }

    private static String normalizeHost(String host) {
        if (host == null) {
            return "";
        }
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        while (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return h;
    }

    private static List<String> normalizeAllowList(List<String> hosts) {
        List<String> result = new ArrayList<>();
        for (String entry : hosts) {
            if (entry == null) {
                continue;
            }
            String h = normalizeHost(entry);
            while (h.startsWith("*.") || h.startsWith(".")) {
                h = h.substring(h.charAt(0) == '*' ? 2 : 1);
            }
            if (!h.isEmpty() && !result.contains(h)) {
                result.add(h);
            }
        }
        return List.copyOf(result);
    }
}
