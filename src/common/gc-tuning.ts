/**
 * V8 heap settings for raidfs processes, applied before anything else is loaded
 * (imported first by the CLI entry point, and by the benchmarks that host a
 * controller).
 *
 * raidfs processes keep a small JavaScript heap (~10 MB) while moving hundreds of MB/s
 * through short-lived buffers. V8 sizes the old generation's next collection limit
 * from the live heap (live × growing factor, at least +8 MB, plus the young
 * generation's capacity) and starts a full marking whenever the room left is not
 * larger than the young generation (16 MB once busy). For a 10 MB heap that is true
 * straight after every collection, so V8 marked the whole heap again and again:
 * ~130 mark-compacts per GiB written through the mount, a fifth of the CPU on these
 * 2 cores. A growing factor of 11 (limit ~110 MB for a 10 MB heap) ends the loop; the
 * old generation still gets collected, only later.
 *
 * The price: garbage may now fill the old generation up to ~11 times the live heap
 * before a collection. With raidfs's ~10 MB of live objects that stays inside the
 * memory the benchmark checks (controller peak RSS during a 1 GiB copy: 209 MiB,
 * against 193 MiB before); a process whose live heap grew far larger would need a
 * smaller factor. Buffers are not counted here: V8 collects for their external
 * memory on its own schedule.
 */
import v8 from 'node:v8';

const HEAP_GROWING_PERCENT = 1000;

v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
