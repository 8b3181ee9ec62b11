// NS/NAME arguments, validated like the apiserver validates names, so a typo fails here with a
// message naming the argument rather than as a 404 from the server.
import { UserError } from './errors.js';

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface Ref {
  namespace: string;
  name: string;
}

export function parseRef(text: string | undefined, opts: { what: string; defaultNamespace?: string }): Ref {
  if (!text) throw new UserError(`${opts.what} is required, as NAMESPACE/NAME`);
  const parts = text.split('/');
  if (parts.length > 2) throw new UserError(`${opts.what} must be NAMESPACE/NAME, got "${text}"`);
  let namespace: string | undefined;
  let name: string;
  if (parts.length === 2) [namespace, name] = parts;
  else [name] = parts;
  namespace ||= opts.defaultNamespace;
  if (!namespace) throw new UserError(`${opts.what} must be NAMESPACE/NAME, got "${text}"`);
  if (!NAMESPACE.test(namespace) || namespace.length > 63) {
    throw new UserError(
      `${opts.what}: namespace "${namespace}" is not a valid namespace name (lowercase letters, digits and '-')`,
    );
  }
  if (!NAME.test(name) || name.length > 253) {
    throw new UserError(
      `${opts.what}: name "${name}" is not a valid object name (lowercase letters, digits, '-' and '.')`,
    );
  }
  return { namespace, name };
}
