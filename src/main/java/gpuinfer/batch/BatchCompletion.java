package gpuinfer.batch;

/**
 * What one request produced.
 *
 * @param generated     the generated token ids, a stop id included (it ends the text but is not part of it)
 * @param text          the generated text (without the prompt), cut before a stop text
 * @param finishReason  "end-of-text" (a stop id), "max-tokens", or "stop-text" (one of the request's stop texts)
 * @param queuedMillis  from the engine's start to the request's admission to a slot
 * @param prefillMillis the prompt's forward step and the first token's sampling
 * @param totalMillis   from admission to the last token
 */
public record BatchCompletion(BatchRequest request, int[] generated, String text, String finishReason,
                              double queuedMillis, double prefillMillis, double totalMillis) {
    public static final String END_OF_TEXT = "end-of-text";
    public static final String MAX_TOKENS = "max-tokens";
    public static final String STOP_TEXT = "stop-text";
}
