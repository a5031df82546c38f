/*
 * raidfs's addon: the functions each of its files gives JavaScript (addon.c registers
 * them), and the argument helpers they share.
 */
#ifndef RAIDFS_ADDON_H
#define RAIDFS_ADDON_H

#include <node_api.h>
#include <stdint.h>

/* Throws a TypeError with `message`; returns NULL for the caller to return. */
napi_value fail (napi_env env, const char *message);

/* The bytes of a Uint8Array (or Buffer) argument; 0 if it is not one. */
int bytes_of (napi_env env, napi_value value, uint8_t **data, size_t *length);

/* Fills argv with up to `max` arguments; returns how many were passed. */
size_t get_args (napi_env env, napi_callback_info info, napi_value *argv, size_t max);

/* checksum.c */
napi_value blake3_of (napi_env env, napi_callback_info info);
napi_value hasher_new (napi_env env, napi_callback_info info);
napi_value hasher_update (napi_env env, napi_callback_info info);
napi_value hasher_digest (napi_env env, napi_callback_info info);
napi_value copy_hashing (napi_env env, napi_callback_info info);

/* buffers.c */
napi_value free_now (napi_env env, napi_callback_info info);
napi_value aligned_offset (napi_env env, napi_callback_info info);

#endif
