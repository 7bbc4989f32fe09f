package dev.imagegen.simulator;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * A small pure-Java PNG encoder (no {@code java.awt}, so it works in a native image) that paints a
 * landscape: a sky gradient, a glowing sun and a few mountain ridges. Palette, sun position and ridge
 * shapes come from the prompt's hash and the seed, so the same prompt and seed always give the same
 * bytes and different prompts give visibly different pictures.
 *
 * <p>Output: 8-bit RGB (colour type 2), not interlaced, one IDAT chunk, "Up" row filter, fast deflate.
 * CPU-bound (about 0.1 s for 2048×2048): call it from a worker thread, not an event loop.
 */
public final class PngImages {

    /** Largest width or height accepted. */
    public static final int MAX_SIDE = 8192;

    private static final byte[] SIGNATURE = { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

    private PngImages() {
    }

    /**
     * Renders a deterministic picture for {@code prompt} and {@code seed}.
     *
     * @throws IllegalArgumentException if a side is below 1 or above {@link #MAX_SIDE}
     */
    public static byte[] render(String prompt, long seed, int width, int height) {
        if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) {
            throw new IllegalArgumentException("image size must be 1.." + MAX_SIDE + " per side, got " + width + "x" + height);
        }
        Scene scene = new Scene(prompt == null ? "" : prompt, seed, width, height);
        ByteArrayOutputStream idat = new ByteArrayOutputStream(Math.max(1024, width * height / 8));
        Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        try (DeflaterOutputStream z = new DeflaterOutputStream(idat, deflater, 64 * 1024)) {
            int stride = width * 3;
            byte[] previous = new byte[stride];
            byte[] current = new byte[stride];
            byte[] filtered = new byte[stride + 1];
            filtered[0] = 2; // filter type "Up": each byte minus the byte above it
            for (int y = 0; y < height; y++) {
                scene.row(y, current);
                for (int i = 0; i < stride; i++) {
                    filtered[i + 1] = (byte) (current[i] - previous[i]);
                }
                z.write(filtered);
                byte[] t = previous;
                previous = current;
                current = t;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deflater.end();
        }
        byte[] compressed = idat.toByteArray();
        ByteArrayOutputStream png = new ByteArrayOutputStream(compressed.length + 64);
        png.writeBytes(SIGNATURE);
        byte[] ihdr = new byte[13];
        putInt(ihdr, 0, width);
        putInt(ihdr, 4, height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type: truecolour RGB
        ihdr[10] = 0; // compression: deflate
        ihdr[11] = 0; // filter method 0
        ihdr[12] = 0; // no interlace
        chunk(png, "IHDR", ihdr);
        chunk(png, "IDAT", compressed);
        chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] header = new byte[8];
        putInt(header, 0, data.length);
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(typeBytes, 0, header, 4, 4);
        CRC32 crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data);
        byte[] crcBytes = new byte[4];
        putInt(crcBytes, 0, (int) crc.getValue());
        out.writeBytes(header);
        out.writeBytes(data);
        out.writeBytes(crcBytes);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    /** The picture: everything derived up front, then painted row by row. */
    private static final class Scene {
        private final int width;
        private final int height;
        private final float[][] skyRows; // per row: r, g, b
        private final float sunX;
        private final float sunY;
        private final float sunRadius;
        private final float[] sunColor;
        private final float[] glowColor;
        private final float[][] ridges; // per layer, per column: y of the ridge line
        private final float[][] layerTop; // per layer: colour at the ridge
        private final float[][] layerBottom; // per layer: colour at the bottom of the image

        Scene(String prompt, long seed, int width, int height) {
            this.width = width;
            this.height = height;
            Rng rng = new Rng(mix(hash(prompt) ^ mix(seed + 0x9E3779B97F4A7C15L)));
            float hue = rng.nextFloat();
            float[] skyTop = hsv(hue, 0.45f + 0.35f * rng.nextFloat(), 0.18f + 0.3f * rng.nextFloat());
            float[] skyHorizon = hsv(hue + 0.06f + 0.18f * rng.nextFloat(), 0.35f + 0.45f * rng.nextFloat(),
                    0.85f + 0.15f * rng.nextFloat());
            float horizon = 0.55f + 0.2f * rng.nextFloat();
            skyRows = new float[height][];
            for (int y = 0; y < height; y++) {
                float t = Math.min(1f, (float) y / (horizon * height));
                float eased = t * t * (3 - 2 * t);
                skyRows[y] = lerp(skyTop, skyHorizon, eased);
            }
            int minSide = Math.min(width, height);
            sunX = width * (0.15f + 0.7f * rng.nextFloat());
            sunY = height * horizon * (0.3f + 0.5f * rng.nextFloat());
            sunRadius = Math.max(1f, minSide * (0.05f + 0.09f * rng.nextFloat()));
            sunColor = hsv(hue + 0.1f + 0.1f * rng.nextFloat(), 0.15f + 0.25f * rng.nextFloat(), 1f);
            glowColor = hsv(hue + 0.08f, 0.5f, 1f);

            int layers = 3 + rng.nextInt(2);
            ridges = new float[layers][width];
            layerTop = new float[layers][];
            layerBottom = new float[layers][];
            float mountainHue = hue + 0.45f + 0.2f * rng.nextFloat();
            for (int l = 0; l < layers; l++) {
                float depth = (float) (l + 1) / layers; // 0 far .. 1 near
                float base = height * (horizon - 0.12f + 0.32f * depth);
                float amplitude = height * (0.14f - 0.06f * depth) * (0.6f + 0.8f * rng.nextFloat());
                int waves = 3;
                float[] freq = new float[waves];
                float[] phase = new float[waves];
                float[] weight = new float[waves];
                for (int k = 0; k < waves; k++) {
                    freq[k] = (float) (Math.PI * 2 * (0.5 + rng.nextFloat() * (1.5 + 2.5 * k)) / width);
                    phase[k] = (float) (Math.PI * 2 * rng.nextFloat());
                    weight[k] = 1f / (k + 1);
                }
                for (int x = 0; x < width; x++) {
                    float v = 0;
                    for (int k = 0; k < waves; k++) {
                        v += weight[k] * (float) Math.sin(freq[k] * x + phase[k]);
                    }
                    ridges[l][x] = base - amplitude * v / 1.83f;
                }
                float[] haze = skyHorizon;
                float[] solid = hsv(mountainHue + 0.05f * l, 0.35f + 0.3f * depth, 0.55f - 0.4f * depth);
                layerTop[l] = lerp(haze, solid, 0.35f + 0.55f * depth);
                layerBottom[l] = lerp(layerTop[l], new float[] { 0, 0, 0 }, 0.35f);
            }
        }

        void row(int y, byte[] out) {
            float[] sky = skyRows[y];
            float dy = y + 0.5f - sunY;
            float dy2 = dy * dy;
            float glowReach = sunRadius * 4f;
            for (int x = 0; x < width; x++) {
                float r = sky[0];
                float g = sky[1];
                float b = sky[2];
                float dx = x + 0.5f - sunX;
                float d = (float) Math.sqrt(dx * dx + dy2);
                if (d < glowReach) {
                    if (d <= sunRadius - 1f) {
                        r = sunColor[0];
                        g = sunColor[1];
                        b = sunColor[2];
                    } else {
                        float glow = 1f - (d - sunRadius) / (glowReach - sunRadius);
                        glow = Math.max(0f, Math.min(1f, glow));
                        glow = glow * glow * 0.6f;
                        r += (glowColor[0] - r) * glow;
                        g += (glowColor[1] - g) * glow;
                        b += (glowColor[2] - b) * glow;
                        if (d < sunRadius) { // anti-aliased rim
                            float a = sunRadius - d;
                            r += (sunColor[0] - r) * a;
                            g += (sunColor[1] - g) * a;
                            b += (sunColor[2] - b) * a;
                        }
                    }
                }
                for (int l = 0; l < ridges.length; l++) {
                    float ridge = ridges[l][x];
                    float coverage = y + 1f - ridge;
                    if (coverage <= 0f) {
                        continue;
                    }
                    if (coverage > 1f) {
                        coverage = 1f;
                    }
                    float t = Math.min(1f, (y - ridge) / Math.max(1f, height - ridge));
                    float[] top = layerTop[l];
                    float[] bottom = layerBottom[l];
                    float lr = top[0] + (bottom[0] - top[0]) * t;
                    float lg = top[1] + (bottom[1] - top[1]) * t;
                    float lb = top[2] + (bottom[2] - top[2]) * t;
                    r += (lr - r) * coverage;
                    g += (lg - g) * coverage;
                    b += (lb - b) * coverage;
                }
                int i = x * 3;
                out[i] = toByte(r);
                out[i + 1] = toByte(g);
                out[i + 2] = toByte(b);
            }
        }

        private static byte toByte(float v) {
            int c = Math.round(v * 255f);
            return (byte) (c < 0 ? 0 : Math.min(c, 255));
        }

        private static float[] lerp(float[] a, float[] b, float t) {
            return new float[] { a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t };
        }

        private static float[] hsv(float h, float s, float v) {
            h = h - (float) Math.floor(h);
            float c = v * s;
            float hp = h * 6f;
            float x = c * (1 - Math.abs(hp % 2 - 1));
            float r;
            float g;
            float b;
            switch ((int) hp) {
                case 0 -> { r = c; g = x; b = 0; }
                case 1 -> { r = x; g = c; b = 0; }
                case 2 -> { r = 0; g = c; b = x; }
                case 3 -> { r = 0; g = x; b = c; }
                case 4 -> { r = x; g = 0; b = c; }
                default -> { r = c; g = 0; b = x; }
            }
            float m = v - c;
            return new float[] { r + m, g + m, b + m };
        }
    }

    private static long hash(String s) {
        long h = 0xcbf29ce484222325L; // FNV-1a 64 over UTF-8
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** SplitMix64: tiny, fast and the same on every JVM. */
    private static final class Rng {
        private long state;

        Rng(long seed) {
            state = seed;
        }

        long nextLong() {
            state += 0x9E3779B97F4A7C15L;
            return mix(state);
        }

        float nextFloat() {
            return (nextLong() >>> 40) / (float) (1 << 24);
        }

        int nextInt(int bound) {
            return (int) ((nextLong() >>> 33) % bound);
        }
    }
}
