/*
 * BLAKE3 (native/third_party/blake3) for JavaScript: the checksum every new chunk is
 * stored and checked with (src/wire/checksum.ts). Part of raidfs's addon (addon.c).
 *
 * BLAKE3 runs at ~6.5 GB/s on one core of the development machine, against ~1.7 GB/s
 * for the SHA-256 that Node's OpenSSL offers (with the CPU's SHA instructions); every
 * byte written is hashed three times (the controller, and each node that stores a
 * copy), so the hash was the largest single cost of a large write.
 *
 * Functions (all synchronous; byte arguments are Uint8Arrays, Buffers included):
 *   blake3(bytes)                                 -> 32-byte Buffer
 *   hasherNew()                                   -> Buffer holding a fresh hasher's state
 *   hasherUpdate(state, bytes)                    -> undefined
 *   hasherDigest(state)                           -> 32-byte Buffer (the state stays usable)
 *   copyHashing(state, source, target, offset)    -> undefined: copies source into target
 *       at offset, feeding the hasher each piece right after its copy, while the piece
 *       is still in the CPU's cache.
 *
 * Invariant: a hasher's state lives in a Buffer that JavaScript owns (no native
 * allocation to free), and is checked for its size before every use.
 */
#include <string.h>
#include "addon.h"
#include "blake3.h"

#define DIGEST_BYTES 32
/* Small enough that a piece just copied is still in the CPU's cache when it is hashed. */
#define COPY_PIECE_BYTES (64 * 1024)

/* The hasher kept in a state Buffer from hasherNew(); NULL if the argument is not one. */
static blake3_hasher *hasher_of (napi_env env, napi_value value) {
  uint8_t *data;
  size_t length;
  if (!bytes_of(env, value, &data, &length) || length != sizeof(blake3_hasher)) return NULL;
  return (blake3_hasher *) data;
}

static napi_value digest_buffer (napi_env env, const blake3_hasher *hasher) {
  void *out;
  napi_value result;
  if (napi_create_buffer(env, DIGEST_BYTES, &out, &result) != napi_ok) return NULL;
  blake3_hasher_finalize(hasher, out, DIGEST_BYTES);
  return result;
}

napi_value blake3_of (napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint8_t *data;
  size_t length;
  if (get_args(env, info, argv, 1) < 1 || !bytes_of(env, argv[0], &data, &length)) return fail(env, "blake3(bytes): bytes must be a Uint8Array");
  blake3_hasher hasher;
  blake3_hasher_init(&hasher);
  blake3_hasher_update(&hasher, data, length);
  return digest_buffer(env, &hasher);
}

napi_value hasher_new (napi_env env, napi_callback_info info) {
  void *state;
  napi_value result;
  if (napi_create_buffer(env, sizeof(blake3_hasher), &state, &result) != napi_ok) return NULL;
  blake3_hasher_init((blake3_hasher *) state);
  return result;
}

napi_value hasher_update (napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint8_t *data;
  size_t length;
  blake3_hasher *hasher = get_args(env, info, argv, 2) >= 2 ? hasher_of(env, argv[0]) : NULL;
  if (hasher == NULL) return fail(env, "hasherUpdate(state, bytes): state must come from hasherNew()");
  if (!bytes_of(env, argv[1], &data, &length)) return fail(env, "hasherUpdate(state, bytes): bytes must be a Uint8Array");
  blake3_hasher_update(hasher, data, length);
  return NULL;
}

napi_value hasher_digest (napi_env env, napi_callback_info info) {
  napi_value argv[1];
  blake3_hasher *hasher = get_args(env, info, argv, 1) >= 1 ? hasher_of(env, argv[0]) : NULL;
  if (hasher == NULL) return fail(env, "hasherDigest(state): state must come from hasherNew()");
  return digest_buffer(env, hasher);
}

napi_value copy_hashing (napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint8_t *source, *target;
  size_t source_length, target_length;
  double offset = -1;
  blake3_hasher *hasher = get_args(env, info, argv, 4) >= 4 ? hasher_of(env, argv[0]) : NULL;
  if (hasher == NULL) return fail(env, "copyHashing(state, source, target, offset): state must come from hasherNew()");
  if (!bytes_of(env, argv[1], &source, &source_length) || !bytes_of(env, argv[2], &target, &target_length)) {
    return fail(env, "copyHashing(state, source, target, offset): source and target must be Uint8Arrays");
  }
  napi_get_value_double(env, argv[3], &offset);
  if (!(offset >= 0) || offset > (double) target_length || source_length > target_length - (size_t) offset) {
    napi_throw_range_error(env, NULL, "copyHashing: source does not fit into target at offset");
    return NULL;
  }
  uint8_t *to = target + (size_t) offset;
  for (size_t at = 0; at < source_length; at += COPY_PIECE_BYTES) {
    size_t n = source_length - at < COPY_PIECE_BYTES ? source_length - at : COPY_PIECE_BYTES;
    memmove(to + at, source + at, n);
    blake3_hasher_update(hasher, to + at, n);
  }
  return NULL;
}
