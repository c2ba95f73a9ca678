package gpuinfer.cli;

import gpuinfer.model.Interventions;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/**
 * The head-intervention options ({@code --ablate}, {@code --scale-head}, {@code --attend-mask}), shared by the
 * commands that run a model (a picocli mixin). {@code compare} applies them to execution b only.
 */
public final class InterventionOptions {
    @Option(names = "--ablate", paramLabel = "L.H",
            description = "Zero the output of head H of layer L (both from 0) before the heads are merged; repeatable. In compare, applied to execution b only.")
    List<String> ablate = new ArrayList<>();

    @Option(names = "--scale-head", paramLabel = "L.H=X",
            description = "Multiply the output of head H of layer L by X; repeatable. In compare, execution b only.")
    List<String> scaleHead = new ArrayList<>();

    @Option(names = "--attend-mask", paramLabel = "L.H:I-J",
            description = "Hide key positions I..J (inclusive, from 0) from head H of layer L: its softmax runs over the "
                    + "other keys (a row left with none outputs 0); repeatable. In compare, execution b only.")
    List<String> attendMask = new ArrayList<>();

    /** The parsed interventions ({@link Interventions#NONE} when no option is given); check them against the model. */
    public Interventions interventions() {
        return Interventions.parse(ablate, scaleHead, attendMask);
    }
}
