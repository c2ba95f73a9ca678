package gpuinfer.cli;

import gpuinfer.InputException;
import picocli.CommandLine.Option;

/**
 * {@code --repeat N} and {@code --warmup N}: how often a command runs its work untimed, then timed (or recorded). One
 * description of each option; the defaults come in two fixed kinds, one nested class each, so that every command of a
 * kind has the same defaults and the help of each shows them:
 * <ul>
 * <li>{@link Single} ({@code --repeat 1 --warmup 0}): the command computes a result; repeating it only times it
 *     (attention);</li>
 * <li>{@link Measured} ({@code --repeat 5 --warmup 1}): the command measures (tune, profile run, profile attention,
 *     bench attention, bench run): one untimed run takes the first launch's compilation and caches out, and the
 *     median of five is steady on a quiet device.</li>
 * </ul>
 * A fixed class per kind rather than a per-command {@code IDefaultValueProvider}: the defaults stay in the
 * annotations, where the help, the job schema and docs/options.md read them, and a command cannot drift to its own
 * numbers without a new kind here.
 *
 * <p>How a command uses it: {@code @Mixin RepeatOptions.Measured repeat;} then {@code repeat.checked()} before any
 * work, and {@code repeat.warmup()}, {@code repeat.repeat()}.
 */
public abstract class RepeatOptions {
    static final String REPEAT = "Timed (or recorded) runs after the warm-up; medians are reported "
            + "(default: ${DEFAULT-VALUE}).";
    static final String WARMUP = "Untimed runs first: a kernel's first launch includes the driver's compilation "
            + "(default: ${DEFAULT-VALUE}).";

    abstract int repeat();

    abstract int warmup();

    /** Checks both values; call before any work. Returns this. */
    RepeatOptions checked() {
        if (repeat() < 1 || warmup() < 0) {
            throw new InputException("--repeat must be at least 1 and --warmup at least 0 (got --repeat " + repeat()
                    + ", --warmup " + warmup() + ").");
        }
        return this;
    }

    /** A command that computes a result: one run, no warm-up. */
    public static final class Single extends RepeatOptions {
        @Option(names = "--repeat", defaultValue = "1", paramLabel = "N", description = REPEAT)
        int repeat;

        @Option(names = "--warmup", defaultValue = "0", paramLabel = "N", description = WARMUP)
        int warmup;

        @Override
        int repeat() {
            return repeat;
        }

        @Override
        int warmup() {
            return warmup;
        }
    }

    /** A command that measures: five runs after one warm-up. */
    public static final class Measured extends RepeatOptions {
        @Option(names = "--repeat", defaultValue = "5", paramLabel = "N", description = REPEAT)
        int repeat;

        @Option(names = "--warmup", defaultValue = "1", paramLabel = "N", description = WARMUP)
        int warmup;

        @Override
        int repeat() {
            return repeat;
        }

        @Override
        int warmup() {
            return warmup;
        }
    }
}
