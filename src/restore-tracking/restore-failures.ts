/**
 * The objects a restore-and-copy report already names as `RestoreFailed:<code>`, so that the tracking set's rows of
 * the same objects are left out and failed.csv names each object once. An object whose restore failed stays
 * `requested` (a cancel then finds it waiting) or is found gone by a sweep (`failed`): without this it would be
 * listed a second time, and a redrive of the report would take it twice.
 *
 * Memory stays bounded however many restores failed (10 million objects, all AccessDenied): the report notes each
 * restore failure as it streams the restore children's failed.csv files anyway. Up to `cap` objects are held in
 * memory; past it, every id goes to a local file of its shard (or of its group of consecutive shards, past
 * `maxFiles` shards), and the tracking rows, read shard by shard in order, are checked against one file's ids at a
 * time. So no failure file is read twice, whatever their number, and memory holds at most `cap` ids or one file's.
 *
 * The same set, filled with tracking rows (`noteRow`), marks failed.csv rows in bounded memory too (`mark`: past
 * `cap`, the rows go to local files by shard group, each group then read against its own ids): the report leaves out
 * the restore failures of objects that went on anyway (copied in a wave, or named by a later fate).
 */
import path from 'node:path';

import { LineFile, readLines, tempDir } from '../activities/spool';
import { decodeManifestKey } from '../inventory/key-encoding';
import { objectId, type TrackingRow } from './rows';
import { shardOf } from './shard-hash';

/**
 * Object ids held in memory at most (~150 bytes each in a Set: some 30 MB) before they go to local files. A tracking
 * shard holds at most 50,000 rows, so one shard's file holds about that many.
 */
export const RESTORE_FAILURE_IDS_CAP = 200_000;
/** Local files at most (open at once while failures are noted, each with a 16 KiB write buffer). */
export const MAX_SPILL_FILES = 1024;

/** A failed.csv row's object: its key URL-encoded as failed.csv has it. */
export interface FailedCsvObject {
  bucket: string;
  key: string;
  versionId: string;
}

/** Where an object of failed.csv lives among `shardCount` shards, and its id; undefined when its key is not URL encoding. */
function locate(o: FailedCsvObject, shardCount: number): { shard: number; id: string } | undefined {
  let key: string;
  try {
    key = decodeManifestKey(o.key);
  } catch {
    // No tracking row can have it: tracking rows are written with encodeManifestKey, which always decodes.
    return undefined;
  }
  return { shard: shardOf(o.bucket, key, shardCount), id: objectId(o.bucket, key, o.versionId) };
}

export interface RestoreFailureIdsOptions {
  /** Object ids held in memory at most. @default RESTORE_FAILURE_IDS_CAP */
  cap?: number;
  /** Local files at most. @default MAX_SPILL_FILES */
  maxFiles?: number;
  /** Where the files go. @default TMPDIR */
  tmpDir?: string;
  /**
   * Whether the tracking set's rows carry version ids. When not, a failure's version id is ignored: its row tracks
   * the key, whatever version a report names. @default true
   */
  versioned?: boolean;
}

/**
 * The restore failures of one report, noted while they are written; then the tracking rows without their objects.
 * `close` removes its local files: call it in a `finally`.
 */
export class RestoreFailureIds {
  private readonly perShard: Uint32Array;
  private readonly cap: number;
  /** Consecutive shards per local file. */
  private readonly groupShards: number;
  /** Ids by shard, until there are more than `cap`. */
  private held: Map<number, Set<string>> | undefined = new Map();
  private heldIds = 0;
  private spill: { dir: string; remove: () => Promise<void>; files: Map<number, LineFile> } | undefined;
  /** Rows noted (each object once per row). */
  noted = 0;

  /** @param shardCount the tracking set's shard count */
  constructor(
    private readonly shardCount: number,
    private readonly options: RestoreFailureIdsOptions = {},
  ) {
    this.perShard = new Uint32Array(Math.max(1, shardCount));
    this.cap = options.cap ?? RESTORE_FAILURE_IDS_CAP;
    this.groupShards = Math.max(1, Math.ceil(shardCount / (options.maxFiles ?? MAX_SPILL_FILES)));
  }

  /** Whether the ids went to local files (more than `cap` of them). */
  get spilled(): boolean {
    return this.spill !== undefined;
  }

  /** Restore failures noted in a shard (rows, so an object named twice counts twice). */
  notedIn(shard: number): number {
    return this.perShard[shard] ?? 0;
  }

  /** Notes one `RestoreFailed:` row of failed.csv. */
  async note(o: FailedCsvObject): Promise<void> {
    const at = locate(this.options.versioned === false ? { ...o, versionId: '' } : o, this.shardCount);
    if (at) await this.add(at);
  }

  /** Notes a tracking row's object (its key as the row has it, decoded). */
  async noteRow(r: TrackingRow): Promise<void> {
    const versionId = this.options.versioned === false ? '' : r.versionId;
    await this.add({ shard: shardOf(r.bucket, r.key, this.shardCount), id: objectId(r.bucket, r.key, versionId) });
  }

  private async add(at: { shard: number; id: string }): Promise<void> {
    this.noted += 1;
    this.perShard[at.shard]! += 1;
    if (!this.held) return this.write(at.shard, at.id);
    let ids = this.held.get(at.shard);
    if (!ids) this.held.set(at.shard, (ids = new Set()));
    if (ids.has(at.id)) return;
    ids.add(at.id);
    this.heldIds += 1;
    if (this.heldIds <= this.cap) return;
    const held = this.held;
    this.held = undefined;
    this.spill = { ...(await tempDir('restore-failures', this.options.tmpDir)), files: new Map() };
    for (const [shard, shardIds] of held) for (const id of shardIds) await this.write(shard, id);
  }

  private async write(shard: number, id: string): Promise<void> {
    const spill = this.spill!;
    const group = Math.floor(shard / this.groupShards);
    let file = spill.files.get(group);
    if (!file) spill.files.set(group, (file = new LineFile(path.join(spill.dir, `${group}.jsonl`))));
    // JSON: keys may hold line ends.
    await file.write(JSON.stringify(id) + '\n');
  }

  private async load(group: number, ids = new Set<string>()): Promise<Set<string>> {
    if (!this.spill?.files.has(group)) return ids;
    for await (const line of readLines(path.join(this.spill.dir, `${group}.jsonl`))) {
      if (line) ids.add(JSON.parse(line) as string);
    }
    return ids;
  }

  /**
   * The rows of the given shards, in that order, without those of noted objects (`dropped`).
   * @param shards the shards to read (ascending); others are neither read nor yielded
   * @param readShard reads one shard's rows
   */
  async *trackingRows(
    shards: readonly number[],
    readShard: (shard: number) => Promise<TrackingRow[]>,
  ): AsyncGenerator<{ shard: number; rows: TrackingRow[]; dropped: TrackingRow[] }> {
    for (const file of this.spill?.files.values() ?? []) await file.close();
    let loaded: { group: number; ids: Set<string> } | undefined;
    for (const shard of shards) {
      const rows = await readShard(shard);
      if ((this.perShard[shard] ?? 0) === 0) {
        yield { shard, rows, dropped: [] };
        continue;
      }
      let ids = this.held?.get(shard);
      if (this.spill) {
        const group = Math.floor(shard / this.groupShards);
        if (loaded?.group !== group) {
          // One file's ids in memory at a time: the last ones go before the next are read.
          loaded?.ids.clear();
          loaded = { group, ids: await this.load(group) };
        }
        ids = loaded.ids;
      }
      const kept: TrackingRow[] = [];
      const dropped: TrackingRow[] = [];
      for (const r of rows) (ids?.has(objectId(r.bucket, r.key, r.versionId)) ? dropped : kept).push(r);
      yield { shard, rows: kept, dropped };
    }
  }

  /**
   * The items of `source` (failed.csv rows), each once, with whether its object was noted (`noted`), in bounded
   * memory: `source` is read once. With the ids in memory, the items come in the source's order. Past `cap`, each item
   * goes to a local file of its shard group (as JSON: items must survive `JSON.stringify`), and the groups are then
   * read back in order, each against its own ids (one file's ids in memory at a time): the items come by shard group,
   * and in a group in the source's order; those whose key is not URL encoding (no object noted) come first.
   * @param source the items
   * @param objectOf an item's object, as failed.csv names it
   */
  async *mark<T>(
    source: AsyncIterable<T>,
    objectOf: (item: T) => FailedCsvObject,
  ): AsyncGenerator<{ item: T; noted: boolean }> {
    for (const file of this.spill?.files.values() ?? []) await file.close();
    const unversioned = this.options.versioned === false;
    const locateItem = (item: T) => {
      const o = objectOf(item);
      return locate(unversioned ? { ...o, versionId: '' } : o, this.shardCount);
    };
    const spill = this.spill;
    if (!spill) {
      const held = this.held;
      for await (const item of source) {
        const at = locateItem(item);
        yield { item, noted: at !== undefined && (held?.get(at.shard)?.has(at.id) ?? false) };
      }
      return;
    }
    const itemFiles = new Map<number, LineFile>();
    const itemPath = (group: number) => path.join(spill.dir, `items-${group}.jsonl`);
    try {
      for await (const item of source) {
        const at = locateItem(item);
        if (!at) {
          yield { item, noted: false };
          continue;
        }
        const group = Math.floor(at.shard / this.groupShards);
        let file = itemFiles.get(group);
        if (!file) itemFiles.set(group, (file = new LineFile(itemPath(group))));
        await file.write(JSON.stringify([at.id, item]) + '\n');
      }
    } finally {
      for (const file of itemFiles.values()) await file.close();
    }
    for (const group of [...itemFiles.keys()].sort((a, b) => a - b)) {
      const ids = await this.load(group);
      for await (const line of readLines(itemPath(group))) {
        if (!line) continue;
        const [id, item] = JSON.parse(line) as [string, T];
        yield { item, noted: ids.has(id) };
      }
      ids.clear();
    }
  }

  /** Removes the local files, if any, and lets the ids held in memory go. */
  async close(): Promise<void> {
    this.held?.clear();
    const spill = this.spill;
    this.spill = undefined;
    if (!spill) return;
    for (const file of spill.files.values()) await file.close().catch(() => undefined);
    await spill.remove();
  }
}
