package gpuinfer.model;

import gpuinfer.InputException;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Changes made to chosen attention heads during a forward pass, for seeing what a head does:
 * <ul>
 * <li>{@code --ablate L.H}: head H of layer L contributes nothing (its output is zeroed before the heads are merged
 * and projected);
 * <li>{@code --scale-head L.H=x}: its output is multiplied by x;
 * <li>{@code --attend-mask L.H:i-j}: it may not attend to key positions i..j (inclusive, 0-based): its softmax runs
 * over the other keys; a row left with no key outputs zeros.
 * </ul>
 * Layers and heads count from 0. {@link #NONE} changes nothing, and a forward pass with it is bit for bit the plain
 * one.
 */
public record Interventions(List<HeadIntervention> list) {
    public static final Interventions NONE = new Interventions(List.of());

    /** One change to one head. */
    public record HeadIntervention(int layer, int head, Kind kind, float scale, int maskFrom, int maskTo) {
        public enum Kind { ABLATE, SCALE, MASK }

        public String describe() {
            return switch (kind) {
                case ABLATE -> "ablate " + layer + "." + head;
                case SCALE -> "scale " + layer + "." + head + " by " + scale;
                case MASK -> "mask keys " + maskFrom + "-" + maskTo + " from " + layer + "." + head;
            };
        }
    }

    public Interventions {
        list = List.copyOf(list);
    }

    public boolean isEmpty() {
        return list.isEmpty();
    }

    private static final Pattern HEAD = Pattern.compile("(\\d+)\\.(\\d+)");
    private static final Pattern SCALE = Pattern.compile("(\\d+)\\.(\\d+)=([-+0-9.eE]+)");
    private static final Pattern MASK = Pattern.compile("(\\d+)\\.(\\d+):(\\d+)-(\\d+)");

    /** Parses the three options' values (each may be empty). */
    public static Interventions parse(List<String> ablate, List<String> scaleHead, List<String> attendMask) {
        List<HeadIntervention> all = new ArrayList<>();
        for (String a : ablate) {
            Matcher m = HEAD.matcher(a.trim());
            if (!m.matches()) {
                throw new InputException("--ablate '" + a + "': write LAYER.HEAD, e.g. --ablate 3.7 (both count from 0)");
            }
            all.add(new HeadIntervention(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                    HeadIntervention.Kind.ABLATE, 0f, 0, 0));
        }
        for (String s : scaleHead) {
            Matcher m = SCALE.matcher(s.trim());
            float x;
            try {
                x = m.matches() ? Float.parseFloat(m.group(3)) : Float.NaN;
            } catch (NumberFormatException e) {
                x = Float.NaN;
            }
            if (!m.matches() || !Float.isFinite(x)) {
                throw new InputException("--scale-head '" + s + "': write LAYER.HEAD=FACTOR with a finite factor, e.g. "
                        + "--scale-head 3.7=0.5");
            }
            all.add(new HeadIntervention(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                    HeadIntervention.Kind.SCALE, x, 0, 0));
        }
        for (String s : attendMask) {
            Matcher m = MASK.matcher(s.trim());
            if (!m.matches() || Integer.parseInt(m.group(3)) > Integer.parseInt(m.group(4))) {
                throw new InputException("--attend-mask '" + s + "': write LAYER.HEAD:FROM-TO (key positions, "
                        + "inclusive, FROM <= TO), e.g. --attend-mask 3.7:0-0 hides the first token from head 7 of layer 3");
            }
            all.add(new HeadIntervention(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                    HeadIntervention.Kind.MASK, 1f, Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4))));
        }
        return new Interventions(all);
    }

    /** Checks every layer and head against a model's size. */
    public void check(ModelConfig config) {
        for (HeadIntervention h : list) {
            if (h.layer() >= config.nLayer() || h.head() >= config.nHead()) {
                throw new InputException(h.describe() + ": the model has " + config.nLayer() + " layers of "
                        + config.nHead() + " heads (LAYER.HEAD count from 0)");
            }
        }
    }

    /** The interventions of one layer. */
    public List<HeadIntervention> ofLayer(int layer) {
        return list.stream().filter(h -> h.layer() == layer).toList();
    }

    public String describe() {
        return String.join(", ", list.stream().map(HeadIntervention::describe).toList());
    }
}
