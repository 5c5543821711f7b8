// The CPUID instruction, which Swift cannot issue: ConditionCPUFeature= reads the
// processor's flags from it, as systemd's has_cpu_with_flag() does (src/basic/virt.c).
#include "CSwatch.h"
#include <errno.h>

#if defined(__i386__) || defined(__x86_64__)
#include <cpuid.h>

int swatch_cpuid(unsigned leaf, unsigned registers[4]) {
    // __get_cpuid() checks that the leaf exists (the highest one of its range) first.
    return __get_cpuid(leaf, &registers[0], &registers[1], &registers[2], &registers[3]) ? 0 : ENOENT;
}
#else
int swatch_cpuid(unsigned leaf, unsigned registers[4]) {
    (void)leaf;
    (void)registers;
    return ENOSYS;
}
#endif
