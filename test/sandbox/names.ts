// Names and times as the apiserver writes them.

/** RFC 3339 with seconds, as metav1.Time serializes: 2026-11-23T14:02:45Z */
export const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

// the alphabet of k8s.io/apimachinery/pkg/util/rand (no vowels, no look-alikes)
const GEN_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** The 5-character suffix generateName gets. */
export const randomSuffix = (): string =>
  Array.from({ length: 5 }, () => GEN_CHARS[Math.floor(Math.random() * GEN_CHARS.length)]).join('');
