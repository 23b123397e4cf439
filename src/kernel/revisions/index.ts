/*
 * The kernel revisions gupcheck models, by command-line name. To add one (or your own patch),
 * write a module that derives from the nearest revision and replaces the functions that differ
 * (see docs/revisions.md), then list it here.
 */
import type { Revision } from '../revision.ts';
import { jg_proposal, jg_proposal_after_recheck } from './jg-proposal.ts';
import { linux_6_1 } from './linux-6.1.ts';
import { linux_6_10, linux_6_12, linux_6_15, next } from './linux-6.10.ts';
import { linux_6_5 } from './linux-6.5.ts';
import { v7 } from './v7.ts';

export const REVISIONS: readonly Revision[] = [
  linux_6_1,
  v7,
  linux_6_5,
  jg_proposal,
  jg_proposal_after_recheck,
  linux_6_10,
  linux_6_12,
  linux_6_15,
  next,
];

/** The revisions `--kernel` accepts for the pin/probe/matrix commands (proposals included). */
export const REVISION_NAMES: readonly string[] = REVISIONS.map((r) => r.name);

export function findRevision(name: string): Revision | undefined {
  return REVISIONS.find((r) => r.name === name);
}
