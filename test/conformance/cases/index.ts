// Every case, in the order they run.
import type { Case } from '../harness.js';
import { createCases } from './create.js';
import { deleteCases } from './delete.js';
import { listCases } from './list.js';
import { miscCases } from './misc.js';
import { updateCases } from './update.js';
import { webhookCases } from './webhooks.js';

export const CASES: Case[] = [
  ...createCases,
  ...updateCases,
  ...deleteCases,
  ...webhookCases,
  ...listCases,
  ...miscCases,
];

const dup = CASES.find((c, i) => CASES.findIndex((d) => d.id === c.id) !== i);
if (dup) throw new Error(`conformance: case id "${dup.id}" is used twice`);
