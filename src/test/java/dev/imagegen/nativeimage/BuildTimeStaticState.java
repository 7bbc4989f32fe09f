package dev.imagegen.nativeimage;

import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.Timer;
import java.util.concurrent.ExecutorService;

import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.FieldVisitor;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

/**
 * Finds static state that must not be created while a native image is built. Quarkus initializes the
 * application's classes at image build time, so a static field's value is frozen into the executable: a
 * {@link SecureRandom} or {@link Random} would give every process the same sequence (GraalVM refuses an image
 * holding a seeded {@code SecureRandom}), a thread cannot be carried over at all, and a clock or timer would
 * belong to the build machine. Such state belongs in an instance, or is created on first use at run time.
 */
final class BuildTimeStaticState {

    /** Types a static field may not hold, nor a static initializer create. */
    static final List<Class<?>> FORBIDDEN = List.of(Random.class, SecureRandom.class, SplittableRandom.class,
            Thread.class, Clock.class, Timer.class, ExecutorService.class);

    private BuildTimeStaticState() {
    }

    /** One offence per line: {@code class: static field name of type T} or {@code class: <clinit> creates T}. */
    static List<String> offences(byte[] classFile) {
        List<String> found = new ArrayList<>();
        ClassReader reader = new ClassReader(classFile);
        String owner = reader.getClassName().replace('/', '.');
        reader.accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public FieldVisitor visitField(int access, String name, String descriptor, String signature, Object value) {
                if ((access & Opcodes.ACC_STATIC) != 0 && forbidden(Type.getType(descriptor))) {
                    found.add(owner + ": static field " + name + " of type " + Type.getType(descriptor).getClassName());
                }
                return null;
            }

            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                if (!"<clinit>".equals(name)) {
                    return null;
                }
                return new MethodVisitor(Opcodes.ASM9) {
                    @Override
                    public void visitTypeInsn(int opcode, String type) {
                        if (opcode == Opcodes.NEW && forbidden(Type.getObjectType(type))) {
                            found.add(owner + ": <clinit> creates " + type.replace('/', '.'));
                        }
                    }
                };
            }
        }, ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
        return found;
    }

    private static boolean forbidden(Type type) {
        if (type.getSort() != Type.OBJECT) {
            return false;
        }
        Class<?> c;
        try {
            c = Class.forName(type.getClassName(), false, BuildTimeStaticState.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
        return FORBIDDEN.stream().anyMatch(f -> f.isAssignableFrom(c));
    }
}
