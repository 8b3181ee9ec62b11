// A plugin that decorates and hooks the instance it is registered on instead of a child context,
// as the fastify-plugin package marks one (two symbols Fastify reads; not worth a dependency).
import type { FastifyPluginAsync, FastifyPluginOptions, RawServerBase } from 'fastify';

export function sharedPlugin<O extends FastifyPluginOptions, S extends RawServerBase>(
  name: string,
  fn: FastifyPluginAsync<O, S>,
): FastifyPluginAsync<O, S> {
  return Object.assign(fn, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: name });
}
