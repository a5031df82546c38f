/*
 * raidfs: refuses, with EILSEQ, a name that is not UTF-8, before it reaches JavaScript.
 *
 * A Linux name is any bytes; raidfs keeps names as Unicode text (its metadata, its
 * REST API's JSON). fuse-native hands each path to JS with napi_create_string_utf8,
 * which turns every invalid byte sequence into U+FFFD, so `bad\xff` and `bad\xfe`
 * both became `bad\uFFFD`: creating the second silently replaced the first, and the
 * name `ls` showed was not the one the program had used. Now such a name is an error
 * the program sees, and nothing changes (as on a file system that only holds UTF-8
 * names, such as ZFS with utf8only).
 *
 * native/fuse-binding.mjs copies this file beside fuse-native.c and includes it there;
 * every operation's handler calls raidfs_names_clear() (the path, second path of
 * rename, link and symlink, and attribute name it keeps for JS), runs the
 * operation's own block, then asks raidfs_names_valid() before handing it to JS.
 *
 * Invariant: a string is accepted exactly when it is well-formed UTF-8 (Unicode's
 * table 3-7: no overlong form, no surrogate, nothing above U+10FFFF), which is
 * exactly when napi_create_string_utf8 keeps every byte of it.
 */
#include <stdbool.h>

static bool raidfs_utf8_valid (const char *text) {
  const unsigned char *s = (const unsigned char *) text;
  while (*s != 0) {
    unsigned char c = *s;
    if (c < 0x80) { s++; continue; }
    int more;
    unsigned char low = 0x80, high = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) more = 1;
    else if (c == 0xE0) { more = 2; low = 0xA0; }
    else if (c == 0xED) { more = 2; high = 0x9F; }
    else if (c >= 0xE1 && c <= 0xEF) more = 2;
    else if (c == 0xF0) { more = 3; low = 0x90; }
    else if (c == 0xF4) { more = 3; high = 0x8F; }
    else if (c >= 0xF1 && c <= 0xF3) more = 3;
    else return false;
    if (s[1] < low || s[1] > high) return false;
    for (int i = 2; i <= more; i++) {
      if (s[i] < 0x80 || s[i] > 0xBF) return false;
    }
    s += more + 1;
  }
  return true;
}

/* Before an operation's own block: none of the strings below is left over from the
 * thread's previous operation. */
static void raidfs_names_clear (fuse_thread_locals_t *l) {
  l->path = NULL;
  l->dest = NULL;
  l->name = NULL;
}

/* After it: every string it set that JS gets as a path or a name is UTF-8. */
static bool raidfs_names_valid (const fuse_thread_locals_t *l) {
  return (l->path == NULL || raidfs_utf8_valid(l->path)) &&
         (l->dest == NULL || raidfs_utf8_valid(l->dest)) &&
         (l->name == NULL || raidfs_utf8_valid(l->name));
}
