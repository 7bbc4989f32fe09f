package dev.imagegen.simulator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;

class PngImagesTest {

    @Test
    void rendersADecodablePngOfTheRequestedSize() throws IOException {
        byte[] png = PngImages.render("a lighthouse at dusk", 42, 320, 200);

        BufferedImage image = decode(png);
        assertEquals(320, image.getWidth());
        assertEquals(200, image.getHeight());
        assertArrayEquals(new byte[] { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' }, Arrays.copyOf(png, 8));
    }

    @Test
    void sameInputsGiveTheSameBytes() {
        assertArrayEquals(PngImages.render("corgi", 7, 64, 48), PngImages.render("corgi", 7, 64, 48));
    }

    @Test
    void differentPromptsOrSeedsGiveDifferentPictures() throws IOException {
        BufferedImage a = decode(PngImages.render("a red fox", 1, 64, 64));
        BufferedImage b = decode(PngImages.render("a blue whale", 1, 64, 64));
        BufferedImage c = decode(PngImages.render("a red fox", 2, 64, 64));
        assertTrue(differingPixels(a, b) > 64 * 64 / 4, "prompts should change the picture");
        assertTrue(differingPixels(a, c) > 64 * 64 / 4, "seeds should change the picture");
    }

    @Test
    void pictureIsNotFlat() throws IOException {
        BufferedImage image = decode(PngImages.render("mountains", 3, 128, 128));
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < 128; y += 4) {
            for (int x = 0; x < 128; x += 4) {
                colours.add(image.getRGB(x, y));
            }
        }
        assertTrue(colours.size() > 50, "expected a varied picture, got " + colours.size() + " colours");
    }

    @Test
    void handlesLargeAndTinySizes() throws IOException {
        byte[] big = PngImages.render("big", 9, 2048, 2048);
        BufferedImage image = decode(big);
        assertEquals(2048, image.getWidth());
        assertEquals(2048, image.getHeight());

        BufferedImage tiny = decode(PngImages.render("", 0, 1, 1));
        assertEquals(1, tiny.getWidth());
        assertEquals(1, tiny.getHeight());
        assertFalse(big.length < 100);
    }

    @Test
    void rejectsImpossibleSizes() {
        assertThrows(IllegalArgumentException.class, () -> PngImages.render("x", 1, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> PngImages.render("x", 1, 10, PngImages.MAX_SIDE + 1));
    }

    static BufferedImage decode(byte[] png) throws IOException {
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertNotNull(image, "ImageIO could not decode the PNG");
        return image;
    }

    private static int differingPixels(BufferedImage a, BufferedImage b) {
        int n = 0;
        for (int y = 0; y < a.getHeight(); y++) {
            for (int x = 0; x < a.getWidth(); x++) {
                if (a.getRGB(x, y) != b.getRGB(x, y)) {
                    n++;
                }
            }
        }
        return n;
    }
}
