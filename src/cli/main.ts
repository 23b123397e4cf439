/** CLI entry (placeholder until the commands land). */
export function main(_argv: string[]): Promise<number> {
  process.stdout.write('gupcheck: not yet\n');
  return Promise.resolve(0);
}
