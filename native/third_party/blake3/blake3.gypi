# The BLAKE3 sources to compile into an addon, for node-gyp (paths relative to this file).
{
  'include_dirs': ['.'],
  'sources': ['blake3.c', 'blake3_dispatch.c', 'blake3_portable.c'],
  'conditions': [
    ['target_arch=="x64"', {
      'sources': [
        'blake3_sse2_x86-64_unix.S',
        'blake3_sse41_x86-64_unix.S',
        'blake3_avx2_x86-64_unix.S',
        'blake3_avx512_x86-64_unix.S',
      ],
    }],
    ['target_arch=="arm64"', {
      'sources': ['blake3_neon.c'],
    }],
  ],
}
