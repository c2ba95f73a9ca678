package gpuinfer.generate;

import gpuinfer.InputException;

/**
 * How the next token is chosen from the logits.
 *
 * @param temperature 0 for greedy (argmax), else the logits are divided by it before the softmax
 * @param topK        keep only the k most likely tokens (0: all)
 * @param topP        keep the smallest set of most likely tokens whose probability reaches p (1: all)
 * @param seed        seed of the random draws: the same seed, prompt and options give the same text
 */
public record SamplingOptions(double temperature, int topK, double topP, long seed) {
    public SamplingOptions {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new InputException("--temperature must be 0 (greedy) or a positive number, not " + temperature);
        }
        if (topK < 0) {
            throw new InputException("--top-k must be 0 (off) or positive, not " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new InputException("--top-p must be within (0, 1], not " + topP);
        }
    }

    public static SamplingOptions greedy() {
        return new SamplingOptions(0, 0, 1, 0);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }
}
