// Keeps Swift's concurrency runtime, and libdispatch with it, out of the static
// release link of swatchd (docs/HACKING.md "Where the bytes are"): 0.57 MB of
// the stripped binary, and libdispatch's constructor at every start.
//
// swatchd runs no async code: one thread, one epoll loop. But swift-log's
// Logger.swift and Logger+With.swift define a task-local logger
// (`Logger.current`, `withLogger`), and their objects refer to the symbols
// below. A static link extracts an archive member for every undefined symbol,
// before it drops the sections nothing reaches, so those references alone
// pulled libswift_Concurrency.a in, and its global executor pulled
// libdispatch.a, whose `.init_array` keeps it all. Defined here, weakly, they
// are no longer undefined, and no member is extracted.
//
// Each one traps if called. Nothing in swatchd calls them: only async code
// and swift-log's task-local API do, and `make check-release` fails if any
// object but swift-log's refers to one of them, or if libdispatch is linked
// after all (a symbol missing from this list). Only `make release` defines
// SWATCH_WITHOUT_CONCURRENCY_RUNTIME: the debug build links the runtime as
// a shared library, and its tests run async code.
#ifdef SWATCH_WITHOUT_CONCURRENCY_RUNTIME

__attribute__((noreturn, used)) void swatch_concurrency_runtime_is_not_linked(void) {
    __builtin_trap();
}

#define UNLINKED(identifier, symbol)                                                   \
    extern void identifier(void) __asm__(symbol)                                       \
        __attribute__((weak, alias("swatch_concurrency_runtime_is_not_linked")))

// Names as the release objects of swift-log 1.16 refer to them (`nm -u`).
UNLINKED(actor_unowned_executor, "$sScA15unownedExecutorScevgTj");
UNLINKED(task_local_init, "$ss9TaskLocalC12wrappedValueAByxGx_tcfc");
UNLINKED(task_local_get, "$ss9TaskLocalC3getxyF");
UNLINKED(task_local_with_value, "$ss9TaskLocalC9withValue_9operation4file4lineqd__x_qd__yKXESSSutKlF");
UNLINKED(task_local_with_value_async,
         "$ss9TaskLocalC9withValue_9operation9isolation4file4lineqd__x_qd__yYaKXEScA_pSgYiSSSutYaKlF");
UNLINKED(task_local_with_value_async_pointer,
         "$ss9TaskLocalC9withValue_9operation9isolation4file4lineqd__x_qd__yYaKXEScA_pSgYiSSSutYaKlFTu");
UNLINKED(task_local_metadata, "$ss9TaskLocalCMa");
UNLINKED(implicit_isolation_cast, "_swift_implicitisolationactor_to_executor_cast");
UNLINKED(task_alloc, "swift_task_alloc");
UNLINKED(task_dealloc, "swift_task_dealloc");
UNLINKED(task_switch, "swift_task_switch");

#endif
