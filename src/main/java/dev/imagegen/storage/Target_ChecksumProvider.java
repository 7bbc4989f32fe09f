package dev.imagegen.storage;

import com.oracle.svm.core.annotate.Substitute;
import com.oracle.svm.core.annotate.TargetClass;

import software.amazon.awssdk.checksums.SdkChecksum;
import software.amazon.awssdk.checksums.spi.ChecksumAlgorithm;

/**
 * Native image only (GraalVM reads it, the JVM never loads it): the AWS SDK's checksum factory with its
 * optional AWS CRT branches replaced by what the SDK itself does when the CRT is absent.
 * <p>
 * {@code ChecksumProvider} instantiates {@code software.amazon.awssdk.crt.checksums.CRC32C}, {@code CRC64NVME}
 * and {@code XXHash} behind a run-time "is the CRT on the class path" check. This project does not ship the CRT
 * (native libraries, JNI), so those classes are absent, and Quarkus links native images at build time: a
 * reachable reference to a missing class fails the build (issue #13). The S3 store's uploads (S3MultipartUpload)
 * ask for CRC32 only, which the JDK computes; CRC32C falls back to the JDK's {@code java.util.zip.CRC32C}, as on
 * the JVM without the CRT.
 */
@TargetClass(className = "software.amazon.awssdk.checksums.internal.ChecksumProvider")
final class Target_ChecksumProvider {

    private static final String NO_CRT = " needs software.amazon.awssdk.crt:aws-crt, which this build leaves out";

    private Target_ChecksumProvider() {
    }

    /** The SDK's own answer when the CRT is absent: no CRT-based CRC32C (it then uses the JDK's). */
    @Substitute
    static SdkChecksum createCrtCrc32C() {
        return null;
    }

    @Substitute
    static SdkChecksum crc64NvmeCrtImplementation() {
        throw new UnsupportedOperationException("The CRC64NVME checksum" + NO_CRT);
    }

    @Substitute
    static SdkChecksum crtXxHash(ChecksumAlgorithm algorithm) {
        throw new UnsupportedOperationException("The " + algorithm.algorithmId() + " checksum" + NO_CRT);
    }
}
