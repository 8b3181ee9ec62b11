// Lazy loaders for CommonJS dependencies. Bundled with splitting, a dynamic import of a CommonJS
// package yields only `default`; unbundled (tsx, vitest) Node also exposes the named exports.
// These helpers accept both shapes.

function interop<T extends object>(mod: T | { default: T }, probe: string): T {
  return (probe in mod ? mod : (mod as { default: T }).default) as T;
}

export async function loadYaml(): Promise<typeof import('yaml')> {
  return interop(await import('yaml'), 'parse');
}
