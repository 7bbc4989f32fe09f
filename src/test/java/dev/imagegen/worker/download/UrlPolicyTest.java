package dev.imagegen.worker.download;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imagegen.replicate.JobException;
import dev.imagegen.worker.download.UrlPolicy.Target;
import java.net.URI;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class UrlPolicyTest {

    private final UrlPolicy policy = new UrlPolicy(List.of("replicate.delivery", "127.0.0.1", "localhost", "::1"));

    @Test
    void normalisesTheAllowListAndSkipsBlanksWildcardsAndRepeats() {
        UrlPolicy p = new UrlPolicy(Arrays.asList(" Replicate.Delivery. ", "*.example.org", ".example.org", "", null,
                "[::1]", "replicate.delivery"));
        assertEquals(List.of("replicate.delivery", "example.org", "::1"), p.allowedHosts());
        assertThrows(NullPointerException.class, () -> new UrlPolicy(null));
    }

    @Test
    void allowsAHostAndItsSubdomainsOnly() {
        assertTrue(policy.isAllowedHost("replicate.delivery"));
        assertTrue(policy.isAllowedHost("a.b.replicate.delivery"));
        assertFalse(policy.isAllowedHost("evilreplicate.delivery"));
        assertFalse(policy.isAllowedHost("replicate.delivery.evil.com"));
        assertFalse(policy.isAllowedHost("delivery"));
    }

    @Test
    void buildsTheRequestTargetFromAnHttpsUrl() {
        Target t = policy.check("https://PBXT.Replicate.Delivery./a%20b/out-0.png?sig=x%2By");
        assertEquals("pbxt.replicate.delivery", t.host());
        assertEquals(443, t.port());
        assertTrue(t.ssl());
        assertEquals("/a%20b/out-0.png?sig=x%2By", t.requestUri(), "path and query stay encoded as given");

        Target bare = policy.check("https://replicate.delivery:8443");
        assertEquals(8443, bare.port());
        assertEquals("/", bare.requestUri());
    }

    @Test
    void allowsPlainHttpOnlyToLoopbackHosts() {
        Target local = policy.check("http://127.0.0.1:9000/x.png");
        assertFalse(local.ssl());
        assertEquals(9000, local.port());
        assertEquals(80, policy.check("http://localhost/x").port());
        assertEquals("::1", policy.check("http://[::1]:81/x").host());
        assertRefused("must be fetched over https", "http://pbxt.replicate.delivery/x.png");
    }

    @Test
    void refusesOtherSchemesCredentialsMissingHostsAndUnknownHosts() {
        assertRefused("scheme 'ftp' is not supported", "ftp://replicate.delivery/x.png");
        assertRefused("scheme '' is not supported", "/relative/x.png");
        assertRefused("credentials", "https://user:pw@replicate.delivery/x.png");
        assertRefused("no valid host", "https:///x.png");
        assertRefused("'example.com' is not in the allowed output hosts", "https://example.com/x.png");
        assertRefused("not a valid URL", "https://replicate.delivery/a b");
    }

    @Test
    void checksAnAlreadyResolvedRedirectTargetTheSameWay() {
        URI from = URI.create("https://replicate.delivery/a/b.png");
        assertEquals("/a/c.png", policy.check(from.resolve("c.png")).requestUri());
        JobException e = assertThrows(JobException.class, () -> policy.check(from.resolve("https://evil.example/x")));
        assertEquals(JobException.Kind.PERMANENT, e.kind());
    }

    @Test
    void messagesShowHostsAsPrintableAsciiOnly() {
        assertEquals("a?b", UrlPolicy.printable("a\u0007b"));
        assertEquals("caf?", UrlPolicy.printable("café"));
        assertEquals(100, UrlPolicy.printable("x".repeat(500)).length());
        assertRefused("'xn--caf-dma.example' is not in", "https://xn--caf-dma.example/x");
    }

    @Test
    void knowsLoopbackLiteralsWithoutResolvingNames() {
        assertTrue(UrlPolicy.isLoopback("localhost"));
        assertTrue(UrlPolicy.isLoopback("127.1.2.3"));
        assertTrue(UrlPolicy.isLoopback("0:0:0:0:0:0:0:1"));
        assertFalse(UrlPolicy.isLoopback("127.0.0.300"));
        assertFalse(UrlPolicy.isLoopback("10.0.0.1"));
        assertFalse(UrlPolicy.isLoopback("127.0.0.1.nip.io"));
        assertFalse(UrlPolicy.isLoopback("fe80::1"));
        assertFalse(UrlPolicy.isLoopback("localhost.example.com"));
    }

    private void assertRefused(String messagePart, String url) {
        JobException e = assertThrows(JobException.class, () -> policy.check(url));
        assertEquals(JobException.Kind.PERMANENT, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(messagePart), "'" + e.getMessage() + "' lacks '" + messagePart + "'");
    }
}
