package gpuinfer.batch;

import gpuinfer.generate.SamplingOptions;

import java.util.List;

/**
 * One request of a batch, already tokenized.
 *
 * @param key       the caller's handle, returned with the result (e.g. the request's id and line)
 * @param prompt    the prompt's token ids (at least one)
 * @param maxTokens tokens to generate at most
 * @param sampling  how tokens are chosen; the seed makes the draws repeatable whatever the batch
 * @param stop      texts that end generation when the generated text contains one (it is cut before the stop text)
 */
public record BatchRequest(Object key, int[] prompt, int maxTokens, SamplingOptions sampling, List<String> stop) {
    public BatchRequest {
        if (prompt.length < 1) {
            throw new IllegalArgumentException("a request needs at least one prompt token");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, not " + maxTokens);
        }
        stop = List.copyOf(stop);
        for (String s : stop) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("a stop text cannot be empty");
            }
        }
    }
}
