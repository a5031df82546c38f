/**
 * raidfs's own addon (native/addon/, built at install by native/addon-binding.mjs):
 * BLAKE3 for chunk checksums (wire/checksum.ts) and freeing a buffer at once
 * (common/free-now.ts). Loaded once, by whichever of those is imported first; a
 * checkout where it was never built fails with the command that builds it.
 */
import path from 'node:path';

export interface NativeAddon {
  blake3(data: Uint8Array): Buffer;
  hasherNew(): Buffer;
  hasherUpdate(state: Buffer, data: Uint8Array): void;
  hasherDigest(state: Buffer): Buffer;
  copyHashing(state: Buffer, source: Uint8Array, target: Uint8Array, offset: number): void;
  freeNow(bytes: Uint8Array): boolean;
  /** The first offset in `bytes` whose address is a multiple of `alignment` (a power of two). */
  alignedOffset(bytes: Uint8Array, alignment: number): number;
}

/** dist/src/common/ -> the checkout's native/addon/build/. */
const ADDON_PATH = path.join(__dirname, '..', '..', '..', 'native', 'addon', 'build', 'Release', 'raidfs_native.node');

export const addon: NativeAddon = (() => {
  try {
    return require(ADDON_PATH) as NativeAddon;
  } catch (err) {
    throw new Error(`raidfs: the raidfs addon is not built (${(err as Error).message}); run: sh native/setup.sh`);
  }
})();
