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
