import Glibc

/// A C library swatchd loads with dlopen(3) the first time it needs it, not at every exec:
/// libsystemd for the journal (Logging/Libsystemd.swift), libseccomp for filters
/// (Sandbox/Libseccomp.swift). A daemon that needs neither maps neither, and the loader
/// resolves none of their symbols (docs/HACKING.md "libsystemd and the journal").
enum SharedLibrary {
    /// dlerror(3)'s text: why the library or one of its functions could not be had.
    struct LoadError: Error { let message: String }

    /// `name` (a soname such as `libsystemd.so.0`, the one a link with -l would load) opened
    /// RTLD_NOW | RTLD_LOCAL — nothing of it is meant for anyone but `functions`' lookups —
    /// and kept for the life of the process; `functions` looks up what the caller calls
    /// with `symbol`, and nil from it is a failure with dlerror(3)'s text.
    static func load<Functions>(
        _ name: String, _ functions: (_ symbol: (String) -> UnsafeMutableRawPointer?) -> Functions?
    ) -> Result<Functions, LoadError> {
        func failure() -> Result<Functions, LoadError> {
            .failure(LoadError(message: dlerror().map { String(cString: $0) } ?? "\(name): not loaded"))
        }
        guard let library = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { return failure() }
        guard let found = functions({ dlsym(library, $0) }) else { return failure() }
        return .success(found)
    }
}
