package gpuinfer.viz;

/**
 * What one head does, measured on the captured rows: the mean entropy of its rows (nats), and the mean share of
 * attention on the previous token, on the first token (an attention sink) and on the token itself; plus, where an
 * induction test ran (a repeated random token sequence), the mean attention from each token of the second copy to
 * the token after its earlier occurrence. Flags: previous-token head, induction head.
 *
 * @param inductionScore NaN where no induction test ran
 */
public record HeadSummary(int layer, int head, double entropy, double previousToken, double firstToken, double self,
                          double inductionScore, boolean previousTokenHead, boolean inductionHead) {
}
