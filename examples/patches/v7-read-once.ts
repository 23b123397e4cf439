// A revision module (docs/revisions.md, "Check your own patch"): v7's check reading ->mapping once with
// READ_ONCE(), still inside try_grab_folio(), before the PTE re-check.
//   gupcheck check examples/09-fast-pin-vs-unmap-reuse.yaml --kernel examples/patches/v7-read-once.ts --arch arm64
import { derive, makeTryGrabFolioWithCheck, READ_ONCE, shmem_mapping, site, v7, type Ctx, type Folio, type Step } from 'gupcheck/kernel';

const S_mapping = site('my_check', 'mapping = READ_ONCE(folio->mapping)');

function* my_check(c: Ctx, folio: Folio): Step<boolean> {
  const mapping = yield* READ_ONCE(c, folio.mapping, S_mapping);
  if (!mapping) return true;
  if (mapping & 3) return true;
  return (yield* shmem_mapping(c, mapping)) === true;
}

export default derive(v7, {
  name: 'v7-read-once',
  title: 'v7 with READ_ONCE(mapping)',
  summary: "v7's check reading ->mapping once, still before the PTE re-check",
  fns: { try_grab_folio: makeTryGrabFolioWithCheck(my_check) },
});
