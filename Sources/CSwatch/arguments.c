// The command line, kept as glibc hands it to the program, for swatchd and
// swatchctl to read (Sources/SwatchControl/ProcessArguments.swift), and for
// Swift's `CommandLine` itself.
//
// Swift's runtime on Linux does not get argv from main: a constructor of its
// own (swift's stdlib/public/CommandLineSupport/CommandLine.cpp, ArgvGrabber)
// reads /proc/self/maps with stdio and sscanf at every start, to find the stack,
// and walks back from `environ` to argv. Where /proc is not mounted (an init's
// first moments, a chroot, a container whose runtime mounts none) it finds
// nothing, and `CommandLine.arguments` is empty: `swatchd --version` would
// start a daemon with the defaults. glibc calls each constructor of the
// executable with argc, argv and envp (glibc's csu/libc-start.c, call_init;
// Rust's standard library reads its arguments the same way), which needs no
// /proc at all.
#include "CSwatch.h"

#include <stddef.h>

static int argument_count;
static char **argument_vector;

__attribute__((constructor)) static void keep_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    argument_count = argc;
    argument_vector = argv;
}

char *_Nullable *_Nonnull swatch_arguments(int *count) {
    static char *none[] = { NULL };
    if (!argument_vector) {
        *count = 0;
        return none;
    }
    *count = argument_count;
    return argument_vector;
}

// The runtime's own accessor, which `CommandLine` calls (declared with
// @_silgen_name in swift's stdlib/public/core/CommandLine.swift, a Swift
// function: swiftcall). Defined here, it keeps CommandLine.cpp's object out of
// a static link, and its constructor with it: no /proc/self/maps read, and no
// stdio or scanf code of libc paged in, at every start (docs/HACKING.md
// "Footprint and start-up"). With a shared libswiftCore (debug builds) the
// runtime keeps its own, and this one goes unused.
__attribute__((swiftcall)) char *_Nullable *_swift_stdlib_getUnsafeArgvArgc(int *count);
__attribute__((swiftcall)) char *_Nullable *_swift_stdlib_getUnsafeArgvArgc(int *count) {
    return swatch_arguments(count);
}
