#ifndef KEYWARD_FS_KIND_H
#define KEYWARD_FS_KIND_H

/// The file system type of `path` as statfs(2) gives it (`f_type`, a magic number such as
/// 0xEF53 for ext2/3/4); -1 when it cannot be asked (or on a system without statfs's f_type).
/// (Swift's Glibc module leaves out <sys/vfs.h>.)
long long keyward_fs_magic(const char *path);

#endif
