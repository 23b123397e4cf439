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

/**
 * Revisions loaded at run time: a user's module (`--kernel ./my-rev.ts`) or a base revision with
 * C patches (`--kernel 6.1 --patch my-check.c`), by the name their runs carry (src/patch/load.ts).
 */
const loaded = new Map<string, Revision>();

/** Make a loaded revision findable by its name (the name must not be a built-in one). */
export function registerRevision(rev: Revision): void {
  loaded.set(rev.name, rev);
}

export function findRevision(name: string): Revision | undefined {
  return REVISIONS.find((r) => r.name === name) ?? loaded.get(name);
}

/** A built-in revision (not one loaded at run time). */
export function isBuiltinRevision(name: string): boolean {
  return REVISIONS.some((r) => r.name === name);
}
