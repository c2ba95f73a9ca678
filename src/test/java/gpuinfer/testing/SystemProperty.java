package gpuinfer.testing;

/**
 * A system property set for the length of a try-with-resources block and restored (or cleared) on close, e.g. a
 * temporary {@code gpuinfer.cacheDir}. Stores that cache what they read (the tuning store) must be reloaded by the
 * caller on both sides.
 */
public final class SystemProperty implements AutoCloseable {
    private final String name;
    private final String previous;

    private SystemProperty(String name, String value) {
        this.name = name;
        this.previous = System.getProperty(name);
        System.setProperty(name, value);
    }

    public static SystemProperty set(String name, String value) {
        return new SystemProperty(name, value);
    }

    @Override
    public void close() {
        if (previous == null) {
            System.clearProperty(name);
        } else {
            System.setProperty(name, previous);
        }
    }
}
