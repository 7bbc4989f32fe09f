package dev.imagegen.worker;

/** The job is no longer this worker's (rescued, canceled or retried by an operator): stop, record nothing. */
public class LeaseLostException extends RuntimeException {
    public LeaseLostException(String message) {
        super(message, null, false, false);
    }
}
