package dev.imagegen.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/** Presigned links are computed locally: no S3 server is needed. */
class S3PresigningTest {

    private static final URI ENDPOINT = URI.create("http://127.0.0.1:9");

    @Test
    void signsAGetLinkWithItsLifetimeClampedToOneSecondAndSevenDays() {
        try (S3Presigner presigner = presigner(StaticCredentialsProvider.create(AwsBasicCredentials.create("ak", "sk")))) {
            S3Presigning presigning = new S3Presigning(presigner, "images");

            String url = presigning.presignedGetUrl("generations/g1/0.png", Duration.ofMinutes(10)).orElseThrow();
            assertTrue(url.startsWith("http://127.0.0.1:9/images/generations/g1/0.png?"), url);
            assertTrue(url.contains("X-Amz-Expires=600"), url);
            assertTrue(presigning.presignedGetUrl("k", Duration.ofDays(30)).orElseThrow().contains("X-Amz-Expires=604800"));
            assertTrue(presigning.presignedGetUrl("k", Duration.ZERO).orElseThrow().matches(".*[?&]X-Amz-Expires=1(&.*)?"));
            assertEquals(presigning.presignedGetUrl("k", Duration.ofHours(1)), presigning.publicUrl("k", Duration.ofHours(1)));
        }
    }

    @Test
    void givesNoLinkWithoutAPresignerButStillChecksItsArguments() {
        S3Presigning none = new S3Presigning(null, "images");
        assertEquals(Optional.empty(), none.presignedGetUrl("k", Duration.ofHours(1)));
        assertEquals(Optional.empty(), none.publicUrl("k", Duration.ofHours(1)));
        assertThrows(IllegalArgumentException.class, () -> none.presignedGetUrl("", Duration.ofHours(1)));
        assertThrows(IllegalArgumentException.class, () -> none.presignedGetUrl("k".repeat(1025), Duration.ofHours(1)));
        assertThrows(NullPointerException.class, () -> none.presignedGetUrl("k", null));
    }

    @Test
    void aSigningFailureGivesNoPublicLinkInsteadOfAnError() {
        AwsCredentialsProvider none = () -> {
            throw SdkClientException.create("no credentials here");
        };
        try (S3Presigner presigner = presigner(none)) {
            S3Presigning presigning = new S3Presigning(presigner, "images");
            assertThrows(SdkClientException.class, () -> presigning.presignedGetUrl("k", Duration.ofHours(1)));
            assertEquals(Optional.empty(), presigning.publicUrl("k", Duration.ofHours(1)));
            assertEquals(Optional.empty(), presigning.publicUrl("k", Duration.ofHours(1)), "again, logged once a minute");
        }
    }

    private static S3Presigner presigner(AwsCredentialsProvider credentials) {
        return S3Presigner.builder()
                .region(Region.EU_WEST_1)
                .credentialsProvider(credentials)
                .endpointOverride(ENDPOINT)
                .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
                .build();
    }
}
