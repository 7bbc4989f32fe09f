package dev.imagegen.replicate;

import java.math.BigDecimal;

/**
 * What {@link ModelCatalog} needs from a generation's parameters to check them and to build a model's
 * input. The catalog owns this view, so it knows nothing of the generation package (which implements it).
 */
public interface ImageInputs {

    int width();

    int height();

    /** Null when the client left it to the model. */
    Integer numInferenceSteps();

    /** Null when the client left it to the model. */
    BigDecimal guidanceScale();

    /** Null when the client left it to the model. */
    Long seed();

    int numOutputs();

    /** Null when the client left it to the model. */
    String outputFormat();
}
