# raidfs's checksum addon (checksum.c with BLAKE3), built by native/checksum-binding.mjs.
{
  'targets': [{
    'target_name': 'raidfs_checksum',
    'sources': ['checksum.c'],
    'includes': ['../third_party/blake3/blake3.gypi'],
    'cflags': ['-O3', '-Wall'],
  }],
}
