#include <sodium.h>

#if defined(__linux__)
#include <sys/prctl.h>
/// prctl is variadic, so Swift cannot call it: marks the process non-dumpable (no core dump, no
/// ptrace attach by other processes of the same user). execve resets it for the next program.
static inline int keyward_set_nondumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
static inline int keyward_is_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }
#else
static inline int keyward_is_dumpable(void) { return 0; }
static inline int keyward_set_nondumpable(void) { return 0; }
#endif

#if defined(__GLIBC__)
/// renameat2(2), which glibc (2.28 and later) declares only with _GNU_SOURCE. Declared here, not
/// by including <stdio.h>, <fcntl.h> or <unistd.h>: a header this module includes becomes its
/// own, and Glibc's module would then lack what it declares (a clean build failed so).
extern int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
/// renameat2 with RENAME_EXCHANGE (2) relative to the working folder (AT_FDCWD, -100 on Linux):
/// swaps the two names in one step. -1 where the kernel or file system lacks it.
static inline int keyward_exchange_names(const char *a, const char *b) { return renameat2(-100, a, -100, b, 2); }
#else
static inline int keyward_exchange_names(const char *a, const char *b) { return -1; }
#endif

#if defined(__GLIBC__)
#include <malloc.h>
/// glibc raises the size of free memory it keeps at the top of its heap to twice the largest
/// block freed so far (and stops giving large blocks their own mappings): a command that freed a
/// 10 MB table keeps 20 MB it no longer uses. A fixed threshold (glibc's own default, 128 KiB)
/// gives freed memory back to the system.
static inline void keyward_return_freed_memory(void) { mallopt(M_TRIM_THRESHOLD, 128 * 1024); }
#else
static inline void keyward_return_freed_memory(void) {}
#endif
