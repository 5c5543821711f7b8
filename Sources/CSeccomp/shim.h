// libseccomp (seccomp_init(3), seccomp_rule_add(3), seccomp_export_bpf(3)): swatchd
// builds each service's seccomp filters with it before the clone; the child only
// loads the exported program (Sources/CSwatch/shim.c, SWATCH_SANDBOX_SECCOMP).
#include <seccomp.h>
