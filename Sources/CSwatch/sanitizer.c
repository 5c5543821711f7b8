// The AddressSanitizer's defaults for `make sanitize` (docs/HACKING.md, "Tests,
// sanitizers, fuzzing"), which builds with -DSWATCH_SANITIZE; no other build
// has this function. The runtime asks for it before main (the "Run-time flags"
// of clang's AddressSanitizer documentation), so the options reach every
// sanitized binary the tests start, although the tests give each program an
// environment of their own.
//
// detect_leaks=0: swatchd's state lives as long as the process and is not torn
// down at exit (the event loop's handlers hold the supervisor, which holds the
// loop; freeing a daemon's whole state as it ends is work for nothing), so the
// leak check at exit would report all of it and turn every exit status into 1.
#ifdef SWATCH_SANITIZE
const char *__asan_default_options(void);

const char *__asan_default_options(void) {
    return "detect_leaks=0";
}
#endif
