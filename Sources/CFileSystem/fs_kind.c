#include "fs_kind.h"

#if defined(__linux__)
#include <sys/vfs.h>

long long keyward_fs_magic(const char *path) {
  struct statfs fs;
  if (statfs(path, &fs) != 0) return -1;
  return (long long)(unsigned long)fs.f_type;
}

#else

long long keyward_fs_magic(const char *path) {
  (void)path;
  return -1;
}

#endif
