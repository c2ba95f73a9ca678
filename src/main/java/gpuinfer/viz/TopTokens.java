package gpuinfer.viz;

import java.util.List;

/**
 * The model's most likely next tokens before and after the interventions (each list most likely first), for the page's
 * "top next tokens" table. Optional input of {@link VizPage} and {@link AttentionJson}.
 */
public record TopTokens(List<Candidate> before, List<Candidate> after) {
    public TopTokens {
        before = List.copyOf(before);
        after = List.copyOf(after);
    }

    /** One token and its probability (0..1). */
    public record Candidate(String token, double probability) {
    }
}
