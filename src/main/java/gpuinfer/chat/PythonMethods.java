package gpuinfer.chat;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * The Python methods that chat templates call on strings, lists and dicts ({@code content.strip()},
 * {@code content.startswith('<tool_response>')}, {@code content.split('</think>')[-1]}, {@code role.title()},
 * {@code tool.items()}, and slices with a step, {@code messages[::-1]}). Jinjava resolves a method call against the
 * Java class, where these methods do not exist ({@code String.strip()} exists but strips other characters, and
 * {@code String.split} takes a regular expression); this resolver sits before Jinjava's own and answers these
 * names with Python's semantics. Anything else falls through to Jinjava.
 */
final class PythonMethods extends ELResolver {
    /** The method that {@link TemplateSource} rewrites {@code x[a:b:c]} to, as Jinjava's parser has no step. */
    static final String SLICE = "py_slice__";

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (base == null || !(method instanceof String name)) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result;
        if (name.equals(SLICE) && (base instanceof CharSequence || base instanceof List<?>)) {
            result = slice(base, args);
        } else if (base instanceof CharSequence s) {
            result = stringMethod(s.toString(), name, args);
        } else if (base instanceof Map<?, ?> map) {
            result = mapMethod(map, name, args);
        } else {
            result = NONE;
        }
        if (result == NONE) {
            return null;
        }
        context.setPropertyResolved(true);
        return result;
    }

    private static final Object NONE = new Object();

    private static Object stringMethod(String s, String name, Object[] a) {
        switch (name) {
            case "strip":
                return PyStrings.strip(s, chars(a), true, true);
            case "lstrip":
                return PyStrings.strip(s, chars(a), true, false);
            case "rstrip":
                return PyStrings.strip(s, chars(a), false, true);
            case "startswith":
                return PyStrings.startsOrEnds(s, arg(a, 0), true);
            case "endswith":
                return PyStrings.startsOrEnds(s, arg(a, 0), false);
            case "split":
                return PyStrings.split(s, (String) arg(a, 0), maxsplit(a));
            case "rsplit":
                return PyStrings.rsplit(s, (String) arg(a, 0), maxsplit(a));
            case "splitlines":
                return PyStrings.splitlines(s);
            case "upper":
                return s.toUpperCase(java.util.Locale.ROOT);
            case "lower":
                return s.toLowerCase(java.util.Locale.ROOT);
            case "title":
                return PyStrings.title(s);
            case "capitalize":
                return s.isEmpty() ? s
                        : s.substring(0, 1).toUpperCase(java.util.Locale.ROOT)
                                + s.substring(1).toLowerCase(java.util.Locale.ROOT);
            case "replace": {
                int count = a.length > 2 && a[2] != null ? ((Number) a[2]).intValue() : -1;
                return PyStrings.replace(s, str(a, 0), str(a, 1), count);
            }
            case "find":
                return s.indexOf(str(a, 0));
            case "rfind":
                return s.lastIndexOf(str(a, 0));
            case "count":
                return PyStrings.count(s, str(a, 0));
            case "join":
                return PyStrings.join(s, arg(a, 0));
            case "isspace":
                return !s.isEmpty() && s.chars().allMatch(PyStrings::isSpace);
            case "isdigit":
                return !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha":
                return !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isalnum":
                return !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
            case "islower":
                return s.chars().anyMatch(Character::isLowerCase) && s.equals(s.toLowerCase(java.util.Locale.ROOT));
            case "isupper":
                return s.chars().anyMatch(Character::isUpperCase) && s.equals(s.toUpperCase(java.util.Locale.ROOT));
            default:
                return NONE;
        }
    }

    private static Object mapMethod(Map<?, ?> map, String name, Object[] a) {
        switch (name) {
            case "items": {
                List<List<Object>> items = new ArrayList<>();
                map.forEach((k, v) -> items.add(java.util.Arrays.asList(k, v)));
                return items;
            }
            case "keys":
                return new ArrayList<>(map.keySet());
            case "values":
                return new ArrayList<>(map.values());
            case "get":
                return map.containsKey(arg(a, 0)) ? map.get(arg(a, 0)) : arg(a, 1);
            default:
                return NONE;
        }
    }

    /** Python's {@code x[start:stop:step]} on a string or list; null bounds are the defaults. */
    static Object slice(Object base, Object[] a) {
        int length = base instanceof CharSequence s ? s.length() : ((List<?>) base).size();
        Integer start = a.length > 0 && a[0] != null ? ((Number) a[0]).intValue() : null;
        Integer stop = a.length > 1 && a[1] != null ? ((Number) a[1]).intValue() : null;
        int step = a.length > 2 && a[2] != null ? ((Number) a[2]).intValue() : 1;
        if (step == 0) {
            throw new IllegalArgumentException("slice step cannot be zero");
        }
        int lo;
        int hi;
        if (step > 0) {
            lo = start == null ? 0 : clamp(start < 0 ? start + length : start, 0, length);
            hi = stop == null ? length : clamp(stop < 0 ? stop + length : stop, 0, length);
        } else {
            lo = start == null ? length - 1 : clamp(start < 0 ? start + length : start, -1, length - 1);
            hi = stop == null ? -1 : clamp(stop < 0 ? stop + length : stop, -1, length - 1);
        }
        List<Integer> indices = new ArrayList<>();
        for (int i = lo; step > 0 ? i < hi : i > hi; i += step) {
            indices.add(i);
        }
        if (base instanceof CharSequence s) {
            StringBuilder out = new StringBuilder();
            indices.forEach(i -> out.append(s.charAt(i)));
            return out.toString();
        }
        List<?> list = (List<?>) base;
        List<Object> out = new ArrayList<>();
        indices.forEach(i -> out.add(list.get(i)));
        return out;
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    private static Object arg(Object[] a, int i) {
        return i < a.length ? a[i] : null;
    }

    private static String str(Object[] a, int i) {
        Object v = arg(a, i);
        if (!(v instanceof CharSequence)) {
            throw new IllegalArgumentException("expected a string argument, got " + v);
        }
        return v.toString();
    }

    private static String chars(Object[] a) {
        Object v = arg(a, 0);
        return v == null ? null : v.toString();
    }

    private static int maxsplit(Object[] a) {
        Object v = arg(a, 1);
        return v == null ? -1 : ((Number) v).intValue();
    }

    // Only method calls are answered here; property look-ups go to Jinjava's resolvers.
    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
