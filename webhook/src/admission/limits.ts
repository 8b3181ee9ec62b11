// What one review may cost and what its answer may hold. The request side is checked on the raw
// bytes before JSON.parse (scan.ts); the answer side where each answer is built, and once more on
// the finished reply (handle.ts), which falls back to a short answer rather than send more.

/** The apiserver's own limit for a request body (an object); our request carries one or two. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/**
 * JSON values in one review (every object, list, string, number...). A Gloo Mesh object holds
 * tens to a few hundred, a large PodBounceDirective a few thousand; 100,000 is far above any real
 * one and bounds what JSON.parse builds (about 10 MB and 0.1 s at worst).
 */
export const MAX_VALUES = 100_000;

/**
 * Fields of any one object. The largest real ones are label and annotation maps; a 2.8 MB object
 * of 240,000 distinct keys cost JSON.parse half a second on its own.
 */
export const MAX_FIELDS = 1024;

/** request.uid: the apiserver sends a 36-character UUID. Longer ones are not echoed. */
export const MAX_UID_CHARS = 1024;

/** The whole reply, headers aside. */
export const MAX_REPLY_BYTES = 64 * 1024;

/** Causes listed in a denial; the message says how many more there were. */
export const MAX_CAUSES = 20;

/** One cause's line, and any string echoed from the request (names, kinds, groups). */
export const MAX_LINE_CHARS = 1024;
export const MAX_ECHO_CHARS = 256;

/** Warnings in one answer, and the length of each. */
export const MAX_WARNINGS = 20;
export const MAX_WARNING_CHARS = 1024;

/** `s` cut to `max` characters, saying so. */
export function clip(s: string, max = MAX_ECHO_CHARS): string {
  return s.length > max ? `${s.slice(0, max)}... (${s.length - max} more characters)` : s;
}
