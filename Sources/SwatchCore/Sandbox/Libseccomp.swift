import CSeccomp
import Glibc

/// The functions of libseccomp that SeccompCompiler calls, from a libseccomp loaded
/// (SharedLibrary) the first time a unit's filter is built, not at every exec: a swatchd whose
/// units filter no system calls maps none of it, and the loader resolves none of its
/// symbols (docs/HACKING.md "libsystemd and the journal", which is loaded the same way). The library is the same `libseccomp.so.2` a link
/// with -lseccomp would load; CSeccomp gives its types and constants, and links nothing.
enum Libseccomp {
    /// `scmp_filter_ctx seccomp_init(uint32_t def_action)`.
    typealias Initialize = @convention(c) (UInt32) -> scmp_filter_ctx?
    /// `void seccomp_release(scmp_filter_ctx ctx)`.
    typealias Release = @convention(c) (scmp_filter_ctx?) -> Void
    /// `int seccomp_attr_set(scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value)`.
    typealias SetAttribute = @convention(c) (scmp_filter_ctx?, scmp_filter_attr, UInt32) -> Int32
    /// `int seccomp_syscall_resolve_name(const char *name)`.
    typealias ResolveName = @convention(c) (UnsafePointer<CChar>?) -> Int32
    /// `int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
    /// unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array)`.
    typealias AddRule = @convention(c) (scmp_filter_ctx?, UInt32, Int32, UInt32, UnsafePointer<scmp_arg_cmp>?) -> Int32
    /// `int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd)`.
    typealias ExportBPF = @convention(c) (scmp_filter_ctx?, Int32) -> Int32

    struct Functions: @unchecked Sendable {
        let initialize: Initialize
        let release: Release
        let setAttribute: SetAttribute
        let resolveName: ResolveName
        let addRule: AddRule
        let exportBPF: ExportBPF
    }

    /// Loaded once, on first use (a global's initializer runs once, swift_once); the failure
    /// is dlerror(3)'s text, and no filter can be built: the service does not start
    /// (SandboxError.seccompLibrary), never without the filter its unit asks for.
    static let loaded: Result<Functions, SharedLibrary.LoadError> = SharedLibrary.load("libseccomp.so.2") { symbol in
        guard let initialize = symbol("seccomp_init"), let release = symbol("seccomp_release"),
              let setAttribute = symbol("seccomp_attr_set"), let resolveName = symbol("seccomp_syscall_resolve_name"),
              let addRule = symbol("seccomp_rule_add_array"), let exportBPF = symbol("seccomp_export_bpf") else {
            return nil
        }
        return Functions(initialize: unsafeBitCast(initialize, to: Initialize.self),
                         release: unsafeBitCast(release, to: Release.self),
                         setAttribute: unsafeBitCast(setAttribute, to: SetAttribute.self),
                         resolveName: unsafeBitCast(resolveName, to: ResolveName.self),
                         addRule: unsafeBitCast(addRule, to: AddRule.self),
                         exportBPF: unsafeBitCast(exportBPF, to: ExportBPF.self))
    }
}
