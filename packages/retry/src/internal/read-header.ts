/**
 * Response headers in any shape the classifier meets: a fetch `Headers` (openai-node v5+,
 * fetch `Response`), anything with a `get(name)` method, or a plain record (openai-node v4,
 * axios, hand-written objects), whose keys are matched case-insensitively.
 */
export type HeadersLike =
  | { get(name: string): string | null | undefined }
  | Readonly<Record<string, string | readonly string[] | number | null | undefined>>;

/** The header's value (the first one if repeated), or `undefined`. Never throws. */
export function readHeader(headers: HeadersLike, name: string): string | undefined {
  const lower = name.toLowerCase();
  if (typeof (headers as { get?: unknown }).get === 'function') {
    try {
      const value = (headers as { get(name: string): unknown }).get(lower);
      return typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    }
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower) continue;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
    return undefined;
  }
  return undefined;
}

/** True if `value` can be read as headers. */
export function isHeadersLike(value: unknown): value is HeadersLike {
  return typeof value === 'object' && value !== null;
}
