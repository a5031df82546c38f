/*
 * raidfs's own addon, built at install by native/addon-binding.mjs and loaded by
 * src/common/native-addon.ts: the functions of checksum.c (BLAKE3) and buffers.c
 * (freeing a buffer at once, where its memory is aligned), and the argument helpers
 * they share.
 *
 * Invariant: every function checks its arguments and throws a TypeError or
 * RangeError on a bad one; none keeps a pointer into JavaScript memory after it
 * returns.
 */
#include "addon.h"

napi_value fail (napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

int bytes_of (napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  void *raw = NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  *data = raw;
  return 1;
}

size_t get_args (napi_env env, napi_callback_info info, napi_value *argv, size_t max) {
  size_t argc = max;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return argc;
}

static napi_value init (napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
    { "blake3", NULL, blake3_of, NULL, NULL, NULL, napi_enumerable, NULL },
    { "hasherNew", NULL, hasher_new, NULL, NULL, NULL, napi_enumerable, NULL },
    { "hasherUpdate", NULL, hasher_update, NULL, NULL, NULL, napi_enumerable, NULL },
    { "hasherDigest", NULL, hasher_digest, NULL, NULL, NULL, napi_enumerable, NULL },
    { "copyHashing", NULL, copy_hashing, NULL, NULL, NULL, napi_enumerable, NULL },
    { "freeNow", NULL, free_now, NULL, NULL, NULL, napi_enumerable, NULL },
    { "alignedOffset", NULL, aligned_offset, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
