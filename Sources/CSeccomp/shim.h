// libseccomp (seccomp_init(3), seccomp_rule_add(3), seccomp_export_bpf(3)): swatchd
// builds each service's seccomp filters with it before the clone; the child only
// loads the exported program (Sources/CSwatch/shim.c, SWATCH_SANDBOX_SECCOMP). Its types
// and constants only: the library is loaded with dlopen(3) when a unit first needs a
// filter (Sources/SwatchCore/Sandbox/Libseccomp.swift), so nothing links -lseccomp.
#include <seccomp.h>
