# raidfs's addon (addon.c: checksum.c with BLAKE3, buffers.c), built by native/addon-binding.mjs.
{
  'targets': [{
    'target_name': 'raidfs_native',
    'sources': ['addon.c', 'checksum.c', 'buffers.c'],
    'includes': ['../third_party/blake3/blake3.gypi'],
    'cflags': ['-O3', '-Wall'],
  }],
}
