package gpuinfer.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One metadata value of a GGUF file with its declared type. Scalars are held as {@link Long} (every integer type;
 * UINT64 values above 2^63 - 1 wrap, as Java's long does), {@link Double} (FLOAT32 and FLOAT64; a float32 widens
 * exactly), {@link Boolean} or {@link String}; arrays as an {@link Array}.
 */
public record GgufValue(Type type, Object value) {
    /** The value types of the GGUF specification, with their ids and sizes in bytes (strings and arrays vary). */
    public enum Type {
        UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4), BOOL(7, 1),
        STRING(8, 8), ARRAY(9, 12), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

        public final int id;
        /** Bytes of a scalar value; for STRING and ARRAY the least an (empty) one takes. */
        public final int minBytes;

        Type(int id, int minBytes) {
            this.id = id;
            this.minBytes = minBytes;
        }

        public boolean isInteger() {
            return this == UINT8 || this == INT8 || this == UINT16 || this == INT16 || this == UINT32 || this == INT32
                    || this == UINT64 || this == INT64;
        }

        public boolean isFloat() {
            return this == FLOAT32 || this == FLOAT64;
        }

        public static Type of(int id) {
            for (Type t : values()) {
                if (t.id == id) {
                    return t;
                }
            }
            return null;
        }
    }

    /**
     * An array: integers as {@code long[]}, floats as {@code double[]}, booleans as {@code boolean[]}, strings as
     * {@code String[]}, nested arrays as {@code Array[]}.
     */
    public record Array(Type elementType, Object values) {
        public int length() {
            return java.lang.reflect.Array.getLength(values);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Array a && a.elementType == elementType && Objects.deepEquals(new Object[] {values},
                    new Object[] {a.values});
        }

        @Override
        public int hashCode() {
            return Arrays.deepHashCode(new Object[] {elementType, values});
        }

        @Override
        public String toString() {
            int n = length();
            return elementType + "[" + n + "]";
        }
    }

    public GgufValue {
        Objects.requireNonNull(type);
        Objects.requireNonNull(value);
        boolean fits = switch (type) {
            case STRING -> value instanceof String;
            case BOOL -> value instanceof Boolean;
            case FLOAT32, FLOAT64 -> value instanceof Double;
            case ARRAY -> value instanceof Array;
            default -> value instanceof Long;
        };
        if (!fits) {
            throw new IllegalArgumentException(type + " cannot hold a " + value.getClass().getSimpleName());
        }
    }

    public static GgufValue string(String s) {
        return new GgufValue(Type.STRING, s);
    }

    public static GgufValue uint32(long v) {
        return new GgufValue(Type.UINT32, v);
    }

    public static GgufValue int32(long v) {
        return new GgufValue(Type.INT32, v);
    }

    public static GgufValue float32(double v) {
        return new GgufValue(Type.FLOAT32, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(Type.BOOL, v);
    }

    public static GgufValue strings(String... values) {
        return new GgufValue(Type.ARRAY, new Array(Type.STRING, values.clone()));
    }

    public static GgufValue int32s(int... values) {
        return new GgufValue(Type.ARRAY, new Array(Type.INT32, Arrays.stream(values).asLongStream().toArray()));
    }

    public static GgufValue float32s(float... values) {
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = values[i];
        }
        return new GgufValue(Type.ARRAY, new Array(Type.FLOAT32, d));
    }

    /** A short rendering for listings: strings quoted (cut at 60 characters), arrays as type[n]. */
    public String display() {
        if (value instanceof String s) {
            return '"' + (s.length() > 60 ? s.substring(0, 57) + "..." : s) + '"';
        }
        return value.toString();
    }
}
