/*
 * Freeing a buffer's memory at once, instead of at V8's next collection; and where
 * in a buffer its memory is aligned (for O_DIRECT reads into it).
 *
 * Why: a message ZeroMQ receives reaches JavaScript as a Buffer over libzmq's own
 * memory, freed only when V8 collects the Buffer. zeromq.js reports that memory to V8
 * as external, and V8 answers growth of it with full markings of the heap: a storage
 * node receiving 4 MiB chunks ran ~14 of them per 512 MiB stored (one every ~35 MB),
 * with their concurrent marking a fifth of its CPU in a large write. A node done with
 * a chunk frees it here, and the external memory never grows.
 *
 *   freeNow(bytes) -> true if freed, false if `bytes` does not cover its whole
 *       ArrayBuffer (a view into shared memory, such as Node's pool for small
 *       Buffers) or its ArrayBuffer cannot be detached; then nothing changes.
 *
 *   alignedOffset(bytes, alignment) -> the first offset in `bytes` whose address is a
 *       multiple of `alignment` (a power of two), which may be past its end.
 *
 * Invariant: freeing detaches the ArrayBuffer, so every view of it, the Buffer
 * passed included, has length 0 afterwards. Callers free only memory that nothing
 * else holds, in JavaScript or in native code (a pending send, a lent window).
 */
#include "addon.h"

napi_value free_now (napi_env env, napi_callback_info info) {
  napi_value argv[1], array_buffer, result;
  uint8_t *data;
  size_t length, offset, whole;
  if (get_args(env, info, argv, 1) < 1 || !bytes_of(env, argv[0], &data, &length)) return fail(env, "freeNow(bytes): bytes must be a Uint8Array");
  bool freed = napi_get_typedarray_info(env, argv[0], NULL, NULL, NULL, &array_buffer, &offset) == napi_ok
    && napi_get_arraybuffer_info(env, array_buffer, NULL, &whole) == napi_ok
    && offset == 0 && length == whole
    && napi_detach_arraybuffer(env, array_buffer) == napi_ok;
  napi_get_boolean(env, freed, &result);
  return result;
}

napi_value aligned_offset (napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  uint8_t *data;
  size_t length;
  uint32_t alignment;
  if (get_args(env, info, argv, 2) < 2 || !bytes_of(env, argv[0], &data, &length)) return fail(env, "alignedOffset(bytes, alignment): bytes must be a Uint8Array");
  if (napi_get_value_uint32(env, argv[1], &alignment) != napi_ok || alignment == 0 || (alignment & (alignment - 1)) != 0) {
    return fail(env, "alignedOffset(bytes, alignment): alignment must be a power of two");
  }
  uintptr_t address = (uintptr_t) data;
  napi_create_uint32(env, (uint32_t) ((alignment - address % alignment) % alignment), &result);
  return result;
}
