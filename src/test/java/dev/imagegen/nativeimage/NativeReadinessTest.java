package dev.imagegen.nativeimage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.jboss.jandex.AnnotationInstance;
import org.jboss.jandex.ClassInfo;
import org.jboss.jandex.DotName;
import org.jboss.jandex.Index;
import org.junit.jupiter.api.Test;

import io.quarkus.arc.profile.IfBuildProfile;

/**
 * Native-image readiness checks that run without GraalVM, on the compiled classes (issue #13). Each guards one
 * of the defects a native build of {@code main} tripped on.
 */
class NativeReadinessTest {

    /** Code that exists for dev mode only and must stay out of the production (and so the native) build. */
    private static final List<String> DEV_ONLY = List.of("dev/imagegen/simulator/", "dev/imagegen/config/DevDatabaseEmbedded");

    /** Classes a production build does not ship (provided or optional dependencies): referring to them breaks
     * {@code --link-at-build-time}. */
    private static final List<String> ABSENT_IN_PROD = List.of("io/zonky/", "software/amazon/awssdk/crt/");

    @Test
    void noClassFreezesRandomsThreadsOrClocksIntoTheImage() {
        List<String> offences = new ArrayList<>();
        for (Path file : CompiledClasses.files(CompiledClasses.MAIN)) {
            offences.addAll(BuildTimeStaticState.offences(CompiledClasses.bytes(file)));
        }
        assertEquals(List.of(), offences, "static state a native image would create at build time");
    }

    /** The check itself finds what issue #13 found (a static SecureRandom, as Ids had), and more. */
    @Test
    void staticStateCheckFindsTheOffences() {
        Path file = Path.of("target", "test-classes", Offender.class.getName().replace('.', '/') + ".class");
        List<String> offences = BuildTimeStaticState.offences(CompiledClasses.bytes(file));
        String owner = Offender.class.getName();
        assertEquals(List.of(
                owner + ": static field RANDOM of type java.security.SecureRandom",
                owner + ": static field JITTER of type java.util.Random",
                owner + ": static field CLOCK of type java.time.Clock",
                owner + ": <clinit> creates java.security.SecureRandom",
                owner + ": <clinit> creates java.lang.Thread"), offences);
    }

    @Test
    void productionCodeNeverRefersToDevOnlyOrAbsentClasses() {
        List<String> references = new ArrayList<>();
        for (Path file : CompiledClasses.files(CompiledClasses.MAIN)) {
            String name = CompiledClasses.internalName(CompiledClasses.MAIN, file);
            if (DEV_ONLY.stream().anyMatch(name::startsWith)) {
                continue;
            }
            // Class references and descriptors use internal names (slashes); a class named in a string (dots), as
            // DevDatabase names DevDatabaseEmbedded and zonky, is not a reference.
            String constants = new String(CompiledClasses.bytes(file), StandardCharsets.ISO_8859_1);
            for (String target : concat(DEV_ONLY, ABSENT_IN_PROD)) {
                if (constants.contains(target)) {
                    references.add(name + " -> " + target);
                }
            }
        }
        assertEquals(List.of(), references, "production classes that reach dev-only code or classes absent from prod");
    }

    @Test
    void devOnlyBeansExistInTheDevBuildProfileOnly() {
        Index index = CompiledClasses.index(CompiledClasses.MAIN);
        DotName ifBuildProfile = DotName.createSimple(IfBuildProfile.class);
        Set<String> devOnlyBeans = Set.of("dev.imagegen.simulator.DevSimulator", "dev.imagegen.auth.DevTokens");
        for (String bean : devOnlyBeans) {
            ClassInfo info = index.getClassByName(DotName.createSimple(bean));
            AnnotationInstance profile = info.declaredAnnotation(ifBuildProfile);
            assertTrue(profile != null && "dev".equals(profile.value().asString()), bean + " must be @IfBuildProfile(\"dev\")");
        }
        // Any other bean of the simulator package would be active in prod: there must be none.
        for (ClassInfo c : index.getKnownClasses()) {
            if (c.name().toString().startsWith("dev.imagegen.simulator.") && !devOnlyBeans.contains(c.name().toString())) {
                boolean cdi = c.annotationsMap().keySet().stream().anyMatch(a -> a.toString().startsWith("jakarta.enterprise")
                        || a.toString().startsWith("jakarta.inject") || a.toString().startsWith("jakarta.ws.rs")
                        || a.toString().startsWith("io.quarkus"));
                assertFalse(cdi, c.name() + " is a bean, route or Quarkus hook outside the dev build profile");
            }
        }
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** What the check must catch. */
    @SuppressWarnings("unused")
    static final class Offender {
        static final SecureRandom RANDOM = new SecureRandom();
        static final Random JITTER = RANDOM;
        static final Clock CLOCK = Clock.systemUTC();
        static final Object WORKER = new Thread(() -> {
        });
    }
}
